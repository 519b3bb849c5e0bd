import type { Reporter } from '../reporter.js';
import type { ProgressEventData, ProgressEventName } from '../progress-event.js';

/** NDJSON events for machines (`--json`): one object per line with an `event` field (progress-event.ts). */
export function jsonReporter(write: (line: string) => void, progressEveryMs = 1000): Reporter {
  const last = new Map<string, number>();
  const emit = <E extends ProgressEventName>(event: E, data: ProgressEventData<E>): void => write(JSON.stringify({ event, time: new Date().toISOString(), ...data }));
  return {
    onRunStart: (plan, cells) => emit('run-start', { experiment: plan.experiment, cells: cells.map((c) => c.name) }),
    onCellStart: (cell, runDir, attempt) => emit('cell-start', { cell: cell.name, run_dir: runDir, attempt }),
    onStageStart: (cell, stage, cached) => emit('stage-start', { cell: cell.name, stage, cached }),
    onProgress: (cell, stage, done, total) => {
      const key = `${cell.id}:${stage}`;
      if (done < total && Date.now() - (last.get(key) ?? 0) < progressEveryMs) return;
      last.set(key, Date.now());
      emit('progress', { cell: cell.name, stage, done, total });
    },
    onStageEnd: (cell, stage, seconds, cached) => emit('stage-end', { cell: cell.name, stage, seconds, cached }),
    onCellEnd: (s) => emit('cell-end', { cell: s.cell.name, outcome: s.outcome, run_dir: s.runDir, seconds: s.seconds, ...(s.error ? { error: s.error } : {}) }),
    onRunEnd: (summaries) => emit('run-end', { outcomes: summaries.map((s) => ({ cell: s.cell.name, outcome: s.outcome })) }),
  };
}
