import { parseOverride, type Override } from '../config/overrides.js';
import { RunStore } from '../tracking/run-store.js';
import { commandProgress, progressCallback, PROGRESS_CHOICES, type ProgressChoice, type ProgressSink } from '../exec/progress.js';

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

export const jsonOption = { type: 'boolean', default: false, description: 'print JSON for machines' } as const;

export const parseOverrides = (set: readonly string[] | undefined): Override[] => (set ?? []).map(parseOverride);

export const openStore = (dir: string | undefined): RunStore => new RunStore(dir ?? process.env.VSDLAB_STORE ?? 'runs');

export const progressOption = {
  choices: PROGRESS_CHOICES,
  default: 'auto' as ProgressChoice,
  description: 'progress: auto = a bar on a terminal, else plain lines (every $VSDLAB_PROGRESS_SECONDS s, default 10, or every 10 %) or, with --json, NDJSON events on stderr',
} as const;

/** the progress of hashing each asset path that is not (all) in the asset hash cache, as a `hash` task of files */
export function hashProgress(json: boolean): (path: string) => (done: number, total: number) => void {
  let sink: ProgressSink | undefined;
  return (path) => {
    let callback: ((done: number, total: number) => void) | undefined;
    return (done, total) => {
      sink ??= commandProgress({ json });
      callback ??= progressCallback(sink, 'hash', path, 'files');
      callback(done, total);
    };
  };
}
