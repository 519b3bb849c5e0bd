import type { Reporter } from '../reporter.js';
import { formatDuration } from './format.js';

/** Plain lines for CI logs and pipes: one per event, progress at most every `everyMs` per stage. */
export function plainReporter(write: (line: string) => void, everyMs = 10_000): Reporter {
  const lastProgress = new Map<string, number>();
  const started = new Map<string, number>();
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
      started.set(`${cell.id}:${stage}`, Date.now());
      if (cached) write(`  ${cell.slug} ${stage}: cached`);
    },
    onProgress(cell, stage, d, t) {
      const key = `${cell.id}:${stage}`;
      const now = Date.now();
      if (d < t && now - (lastProgress.get(key) ?? 0) < everyMs) return;
      lastProgress.set(key, now);
      const elapsed = (now - (started.get(key) ?? now)) / 1000;
      const eta = d > 0 && d < t ? ` eta ${formatDuration((elapsed / d) * (t - d))}` : '';
      write(`  ${cell.slug} ${stage}: ${d}/${t} (${Math.floor((100 * d) / Math.max(t, 1))}%) ${formatDuration(elapsed)}${eta}`);
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
  };
}
