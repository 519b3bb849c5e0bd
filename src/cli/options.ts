import { parseOverride, type Override } from '../config/overrides.js';
import { RunStore } from '../tracking/run-store.js';
import { commandProgress, PROGRESS_CHOICES, type ProgressChoice, type ProgressSink, type ProgressTask } from '../exec/progress.js';
import { progressSeconds } from '../exec/reporters/throttle.js';

/** Options several commands share, declared once. */
export const setOption = {
  type: 'string',
  array: true,
  description: 'override a cell field: --set distill.steps=200 (repeatable)',
} as const;

export const storeOption = {
  type: 'string',
  description: 'run store folder (default: $VSDLAB_STORE or ./runs)',
} as const;

export const allowOutsideWorkspaceOption = {
  type: 'boolean',
  default: false,
  description: 'let asset paths and command folders lead outside the workspace (the project holding the experiment file); also $VSDLAB_ALLOW_OUTSIDE_WORKSPACE=1',
} as const;

/** The flag or, for processes started without it (a Slurm task's wrapper, a script), the environment. */
export const allowOutsideWorkspace = (flag: boolean | undefined): boolean => flag === true || process.env['VSDLAB_ALLOW_OUTSIDE_WORKSPACE'] === '1';

export { jsonOption, progressOption } from './json-option.js';

export const parseOverrides = (set: readonly string[] | undefined): Override[] => (set ?? []).map(parseOverride);

export const openStore = (dir: string | undefined): RunStore => new RunStore(dir ?? process.env.VSDLAB_STORE ?? 'runs');

/**
 * The progress of hashing each asset path that is not (all) in the asset hash cache, as a `hash` task of files.
 * Hashing that is over within a second (or $VSDLAB_PROGRESS_SECONDS, if less) says nothing: a few small files
 * read again are no news, and a log's first line stays the command's own.
 */
export function hashProgress(json: boolean): (path: string) => (done: number, total: number) => void {
  const quietMs = Math.min(1000, progressSeconds() * 1000);
  let sink: ProgressSink | undefined;
  return (path) => {
    const started = Date.now();
    let task: ProgressTask | undefined;
    return (done, total) => {
      if (!task) {
        if (Date.now() - started < quietMs) return;
        sink ??= commandProgress({ json });
        task = sink.task('hash', path, total, 'files', started);
      }
      task.update(done, total);
      if (done >= total) task.end();
    };
  };
}
