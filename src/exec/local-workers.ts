// `vsdlab run -j N`: the plan's cells split among N local worker processes, each a `vsdlab run` of the same plan.
import type { Cell, Plan } from '../plan/plan.js';
import { estimatedCellCost, longestFirst } from '../plan/cell-cost.js';
import type { RunStore } from '../tracking/run-store.js';
import { runPool } from './local-pool.js';
import type { CellSummary, Reporter } from './reporter.js';
import { selectCells, writeManifest } from './run-plan.js';

export interface WorkerSplitOptions {
  /** what every worker runs after the node binary: the vsdlab script and `run FILE --store ABS --set ...` */
  command: readonly string[];
  jobs: number;
  /** a worker runs this many cells, then a fresh one replaces it (bounds each worker's memory) */
  cellsPerWorker: number;
  /** re-run completed cells and recompute their stages */
  force: boolean;
  only?: readonly string[];
  /** GPU ids (`--gpus 0,1`): worker w sees only gpus[w] (CUDA_VISIBLE_DEVICES), so each cell has a GPU of its own */
  gpus?: readonly string[];
}

export interface WorkerSplit {
  jobs: number;
  argv: (worker: number) => string[];
  /** what worker w's environment adds: its GPU */
  env: (worker: number) => Record<string, string>;
}

/**
 * How the cells are shared out. Normally every worker is given the whole plan and the cell locks decide who runs
 * what; with --force each worker gets its own share, or two workers would both recompute every cell: the cells dealt
 * longest first, each to the share with the least estimated work so far (round-robin when the costs are equal).
 * `started` (the pool's start) keeps replacement workers from retrying cells that failed in this run.
 */
export function splitAmongWorkers(cells: readonly Cell[], o: WorkerSplitOptions, started: string): WorkerSplit {
  const shares = o.force ? dealLongestFirst(cells, o.jobs).filter((s) => s.length > 0) : [];
  const argv = (w: number): string[] => [
    ...o.command,
    ...(o.force ? ['--force', '--only', ...(shares[w] ?? []).map((c) => c.name)] : o.only ? ['--only', ...o.only] : []),
    // a forced share re-runs completed cells, so a forced worker is never replaced midway
    ...(o.force ? [] : ['--max-cells', String(o.cellsPerWorker), '--failed-since', started]),
    '--reporter',
    'json',
  ];
  if (o.gpus !== undefined && o.gpus.length < o.jobs) throw new Error(`splitAmongWorkers: ${o.jobs} workers for ${o.gpus.length} GPUs`);
  const env = (w: number): Record<string, string> => (o.gpus === undefined ? {} : { CUDA_VISIBLE_DEVICES: o.gpus[w]! });
  return { jobs: o.force ? shares.length : o.jobs, argv, env };
}

/** largest-processing-time-first: each cell, longest first, to the share with the least estimated cost so far */
function dealLongestFirst(cells: readonly Cell[], jobs: number): Cell[][] {
  const shares: Cell[][] = Array.from({ length: jobs }, () => []);
  const load = new Array<number>(jobs).fill(0);
  for (const cell of longestFirst(cells)) {
    const w = load.indexOf(Math.min(...load));
    shares[w]!.push(cell);
    load[w]! += estimatedCellCost(cell.config);
  }
  return shares;
}

export interface LocalWorkersOptions extends WorkerSplitOptions {
  reporter: Reporter;
  recycleExitCode: number;
  signal?: AbortSignal;
}

/** runs the selected cells of `plan` on a pool of local workers; their events go to one reporter */
export async function runLocalWorkers(plan: Plan, store: RunStore, o: LocalWorkersOptions): Promise<CellSummary[]> {
  const cells = selectCells(plan, o.only);
  await writeManifest(plan, store);
  const split = splitAmongWorkers(cells, o, new Date().toISOString());
  return runPool(plan, cells, { jobs: split.jobs, workerArgv: split.argv, workerEnv: split.env, reporter: o.reporter, recycleExitCode: o.recycleExitCode, ...(o.signal ? { signal: o.signal } : {}) });
}
