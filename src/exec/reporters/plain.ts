import type { Reporter, TaskInfo } from '../reporter.js';
import { formatDuration } from './format.js';
import { progressThrottle, type ProgressThrottle } from './throttle.js';

/** `2000/8000 images (25%) 12s eta 36s, 166 images/s`: how far a counted piece of work is */
export function progressText(done: number, total: number, unit: string, elapsedS: number): string {
  const eta = done > 0 && done < total ? ` eta ${formatDuration((elapsedS / done) * (total - done))}` : '';
  const rate = elapsedS > 0 && done > 0 ? `, ${formatRate(done / elapsedS)} ${unit}/s` : '';
  return `${done}/${total} ${unit} (${Math.floor((100 * done) / Math.max(total, 1))}%) ${formatDuration(elapsedS)}${eta}${rate}`;
}

const formatRate = (r: number): string => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toPrecision(2));

/**
 * Plain lines for CI logs, Slurm output files and pipes: one per event; progress every `everyMs` or every tenth
 * done, whichever comes first (exec/reporters/throttle.ts), and the last.
 */
export function plainReporter(write: (line: string) => void, everyMs = 10_000): Reporter {
  const throttles = new Map<string, ProgressThrottle>();
  const throttle = (key: string): ProgressThrottle => {
    const t = throttles.get(key) ?? progressThrottle(everyMs);
    throttles.set(key, t);
    return t;
  };
  const started = new Map<string, number>();
  const tasks = new WeakMap<TaskInfo, ProgressThrottle>();
  let total = 0;
  let done = 0;
  return {
    onRunStart(plan, cells) {
      total = cells.length;
      write(`${plan.experiment}: ${cells.length} cell${cells.length === 1 ? '' : 's'}`);
    },
    onCellStart(cell, runDir, attempt) {
      write(`[${done + 1}/${total}] ${cell.name} started${attempt > 1 ? ` (attempt ${attempt})` : ''} → ${runDir}`);
    },
    onStageStart(cell, stage, cached) {
      const key = `${cell.id}:${stage}`;
      started.set(key, Date.now());
      throttles.delete(key);
      if (cached) write(`  ${cell.slug} ${stage}: cached`);
    },
    onProgress(cell, stage, d, t) {
      const key = `${cell.id}:${stage}`;
      const now = Date.now();
      if (!throttle(key).due(d, t, now)) return;
      const s = progressText(d, t, 'steps', (now - (started.get(key) ?? now)) / 1000).replace(' steps', '');
      write(`  ${cell.slug} ${stage}: ${s}`);
    },
    onStageEnd(cell, stage, seconds, cached) {
      if (!cached) write(`  ${cell.slug} ${stage}: done in ${formatDuration(seconds)}`);
    },
    onCellEnd(s) {
      done++;
      const what = {
        completed: `completed in ${formatDuration(s.seconds)}`,
        cached: 'already completed',
        'skipped-running-elsewhere': 'running in another process, left to it',
        failed: `FAILED: ${s.error ?? ''}`,
        interrupted: 'interrupted (resume with the same command)',
      }[s.outcome];
      write(`[${done}/${total}] ${s.cell.name} ${what}`);
    },
    onRunEnd(summaries) {
      const count = (o: string): number => summaries.filter((s) => s.outcome === o).length;
      write(`done: ${count('completed')} completed, ${count('cached')} already complete, ${count('failed')} failed, ${count('skipped-running-elsewhere')} running elsewhere, ${count('interrupted')} interrupted`);
    },
    // no line at the start: the first progress line (after the first batch) says the total
    onTaskStart: (task) => void tasks.set(task, progressThrottle(everyMs)),
    onTaskProgress(task, d) {
      const now = Date.now();
      // the last unit is said by onTaskEnd
      if (d >= task.total || !tasks.get(task)?.due(d, task.total, now)) return;
      write(`${task.task} ${task.label}: ${progressText(d, task.total, task.unit, (now - task.started) / 1000)}`);
    },
    onTaskEnd(task, d) {
      const seconds = (Date.now() - task.started) / 1000;
      const rate = seconds > 0 && d > 0 ? ` (${formatRate(d / seconds)} ${task.unit}/s)` : '';
      write(`${task.task} ${task.label}: ${d === task.total ? '' : 'stopped at '}${d}/${task.total} ${task.unit} in ${formatDuration(seconds)}${rate}`);
    },
    onNote: (message) => write(message),
  };
}
