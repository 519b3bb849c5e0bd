/**
 * Progress of a command's long work, one API for every command (`fid`, `kid`, `clip-score`, `sample`, `verify`,
 * `datasets prepare`, ...): a bar on a terminal, plain lines in logs (Slurm, CI, pipes: every
 * $VSDLAB_PROGRESS_SECONDS = 10 s or every tenth), NDJSON events with `--json` (schema: exec/progress-event.ts,
 * `task-start` / `task-progress` / `task-end` / `note`, on stderr so that stdout keeps the command's result).
 *
 * Example, in a command handler (src/cli/commands/*):
 *
 *   const progress = commandProgress({ json: args.json, reporter: args.progress });
 *   const task = progress.task('prepare', 'resize-256', files.length, 'images');
 *   for (const f of files) { await resize(f); task.tick(); }   // or task.update(done)
 *   task.end();
 *   progress.note('skipped 2 unreadable images');              // a line for the user, not a result
 *
 * A core module below exec/ (data/, metrics/, util/) does not import this: it takes a plain
 * `onProgress?: (done: number, total: number) => void` callback, and the command passes
 * `progressCallback(progress, 'prepare', label, 'images')` (a task started at the first call, ended at the last).
 */
import type { Reporter, TaskInfo } from './reporter.js';
import { defaultReporterName, reporters, type ReporterName } from './reporters/index.js';

export interface ProgressTask {
  /** `done` units of `total` are done (total may be corrected, e.g. once a folder is listed) */
  update(done: number, total?: number): void;
  /** one more unit done */
  tick(by?: number): void;
  /** finished, or stopped early (then the last `done` is reported as where it stopped) */
  end(): void;
}

export interface ProgressSink {
  /** starts a counted task: `task` says what (one word), `label` to what, `unit` what is counted; `started` (Date.now()) when it began, if earlier */
  task(task: string, label: string, total: number, unit?: string, started?: number): ProgressTask;
  /** a line for the user that is not a result: a warning, a skipped file */
  note(message: string): void;
}

/** A sink over any reporter (tests pass a recording one); notes go to `fallbackNote` where the reporter takes none. */
export function progressSink(reporter: Reporter, fallbackNote: (message: string) => void = () => undefined): ProgressSink {
  return {
    task(task, label, total, unit = 'items', started = Date.now()) {
      const info: TaskInfo = { task, label, total, unit, started };
      let done = 0;
      let ended = false;
      reporter.onTaskStart?.(info);
      const update = (d: number, t?: number): void => {
        if (ended) return;
        if (t !== undefined) info.total = t;
        done = d;
        reporter.onTaskProgress?.(info, done);
      };
      return {
        update,
        tick: (by = 1) => update(done + by),
        end() {
          if (ended) return;
          ended = true;
          reporter.onTaskEnd?.(info, done);
        },
      };
    },
    note: (message) => (reporter.onNote ? reporter.onNote(message) : fallbackNote(message)),
  };
}

/** a core module's `(done, total)` callback as a task of `sink`, started at the first call (the total is known then) */
export function progressCallback(sink: ProgressSink, task: string, label: string, unit: string): (done: number, total: number) => void {
  let current: ProgressTask | undefined;
  return (done, total) => {
    current ??= sink.task(task, label, total, unit);
    current.update(done, total);
    if (done >= total) current.end();
  };
}

export const PROGRESS_CHOICES = ['auto', 'tty', 'plain', 'json', 'none'] as const;
export type ProgressChoice = (typeof PROGRESS_CHOICES)[number];

/** The sink a command uses: `--json` gives NDJSON events (on stderr), else `--progress` or the default for the terminal. */
export function commandProgress(o: { json?: boolean; reporter?: ProgressChoice }): ProgressSink {
  const choice = o.reporter ?? 'auto';
  const name: ReporterName = choice === 'none' ? 'silent' : choice === 'auto' ? (o.json ? 'json' : defaultReporterName()) : choice;
  // warnings still reach stderr with --progress none
  return progressSink(reporters[name]({ json: 'stderr' }), (m) => process.stderr.write(`${m}\n`));
}
