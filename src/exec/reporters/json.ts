import type { Reporter, TaskInfo } from '../reporter.js';
import type { ProgressEventData, ProgressEventName } from '../progress-event.js';

/** NDJSON events for machines (`--json`): one object per line with an `event` field (progress-event.ts). */
export function jsonReporter(write: (line: string) => void, progressEveryMs = 1000): Reporter {
  const last = new Map<string, number>();
  const lastTask = new WeakMap<TaskInfo, number>();
  const emit = <E extends ProgressEventName>(event: E, data: ProgressEventData<E>): void => write(JSON.stringify({ event, time: new Date().toISOString(), ...data }));
  const round = (x: number): number => Math.round(x * 1000) / 1000;
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
    onTaskStart: (t) => emit('task-start', { task: t.task, label: t.label, total: t.total, unit: t.unit }),
    onTaskProgress: (t, done) => {
      const now = Date.now();
      if (done < t.total && now - (lastTask.get(t) ?? 0) < progressEveryMs) return;
      lastTask.set(t, now);
      const seconds = (now - t.started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      emit('task-progress', { task: t.task, label: t.label, done, total: t.total, unit: t.unit, rate: round(rate), eta_s: done >= t.total ? 0 : done > 0 && rate > 0 ? round((t.total - done) / rate) : null });
    },
    onTaskEnd: (t, done) => emit('task-end', { task: t.task, label: t.label, done, total: t.total, unit: t.unit, seconds: round((Date.now() - t.started) / 1000) }),
    onNote: (message) => emit('note', { message }),
  };
}
