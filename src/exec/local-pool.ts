import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Cell, Plan } from '../plan/plan.js';
import type { CellOutcome, CellSummary, Reporter } from './reporter.js';
import { parseProgressEvent, type ProgressEvent } from './progress-event.js';

export interface PoolOptions {
  jobs: number;
  /** argv of worker w (after the node binary): a `vsdlab run` of the same plan printing NDJSON events */
  workerArgv: (worker: number) => readonly string[];
  reporter: Reporter;
  /** the exit code with which a worker that ran its share of cells asks to be replaced (chosen by the CLI) */
  recycleExitCode: number;
  /** environment variables of worker w on top of this process's (its GPU: CUDA_VISIBLE_DEVICES); a replacement gets the same */
  workerEnv?: (worker: number) => Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A local process pool: N workers run the same plan; the cell locks share the cells out between them,
 * so no cell runs twice and a worker that dies leaves its cell to be resumed. Events from the workers
 * are forwarded to one reporter. A worker that exits with `recycleExitCode` (it ran its share of
 * cells, `--cells-per-worker`) is replaced by a fresh process: the wasm heap only grows, so a
 * long-lived worker would keep its largest cell's memory and its fragmentation for the whole run. The
 * workers' argv should carry the pool's start (`--failed-since`), so replacements do not retry cells that
 * failed in this run. Each worker knows its number and how many share the machine (VSDLAB_WORKER, VSDLAB_WORKERS: the
 * evaluate stage sizes its onnxruntime thread pools by it).
 */
export async function runPool(plan: Plan, cells: readonly Cell[], options: PoolOptions): Promise<CellSummary[]> {
  const byName = new Map(cells.map((c) => [c.name, c]));
  const results = new Map<string, CellSummary>();
  const { reporter } = options;
  reporter.onRunStart?.(plan, cells);
  const startWorker = (w: number): Promise<number | null> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [...options.workerArgv(w)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.workerEnv?.(w), VSDLAB_WORKER: String(w + 1), VSDLAB_WORKERS: String(options.jobs) } });
      const abort = (): boolean => child.kill('SIGINT');
      options.signal?.addEventListener('abort', abort, { once: true });
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = parseProgressEvent(line);
        const cell = event && 'cell' in event ? byName.get(event.cell) : undefined;
        if (!event || !cell) return;
        forward(event, cell, reporter, results);
      });
      child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
      // 'close', not 'exit': every event the worker printed is read before a replacement starts
      child.on('close', (code) => {
        options.signal?.removeEventListener('abort', abort);
        resolve(code);
      });
    });
  const workers = Array.from({ length: options.jobs }, async (_, w) => {
    while ((await startWorker(w)) === options.recycleExitCode && !options.signal?.aborted);
  });
  await Promise.all(workers);
  // a cell every worker skipped as "running elsewhere" was run by one of them: keep the best outcome
  const summaries = cells.map((c) => results.get(c.name) ?? { cell: c, outcome: 'interrupted' as const, runDir: '', seconds: 0 });
  reporter.onRunEnd?.(summaries);
  return summaries;
}

const rank: Record<CellOutcome, number> = { 'skipped-running-elsewhere': 0, interrupted: 1, cached: 2, failed: 3, completed: 4 };

function forward(event: ProgressEvent, cell: Cell, reporter: Reporter, results: Map<string, CellSummary>): void {
  switch (event.event) {
    case 'cell-start':
      return reporter.onCellStart?.(cell, event.run_dir, event.attempt);
    case 'stage-start':
      return reporter.onStageStart?.(cell, event.stage, event.cached);
    case 'progress':
      return reporter.onProgress?.(cell, event.stage, event.done, event.total);
    case 'stage-end':
      return reporter.onStageEnd?.(cell, event.stage, event.seconds, event.cached);
    case 'cell-end': {
      const summary: CellSummary = { cell, outcome: event.outcome, runDir: event.run_dir, seconds: event.seconds, ...(event.error ? { error: event.error } : {}) };
      const previous = results.get(cell.name);
      if (!previous || rank[summary.outcome] > rank[previous.outcome]) results.set(cell.name, summary);
      // report each cell once: the worker that ran it, not the ones that found it taken or done
      const firstReal = summary.outcome !== 'skipped-running-elsewhere' && (!previous || previous.outcome === 'skipped-running-elsewhere');
      if (firstReal) reporter.onCellEnd?.(summary);
      return;
    }
    default:
      return;
  }
}
