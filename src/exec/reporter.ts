import type { Cell, Plan } from '../plan/plan.js';
import type { StageName } from '../tracking/stage.js';

export type CellOutcome = 'completed' | 'cached' | 'skipped-running-elsewhere' | 'failed' | 'interrupted';

export interface CellSummary {
  cell: Cell;
  outcome: CellOutcome;
  runDir: string;
  seconds: number;
  error?: string;
  /** a pool's replacement worker found the cell failed earlier in the same pool run and left it */
  notRetried?: true;
}

/** Lifecycle hooks of a run; every hook is optional. */
export interface Reporter {
  /** Called once with the cells this run will consider. */
  onRunStart?(plan: Plan, cells: readonly Cell[]): void;
  /** Called when a cell starts (after its lock is taken). */
  onCellStart?(cell: Cell, runDir: string, attempt: number): void;
  /** Called when a stage starts running, or is found in the cache. */
  onStageStart?(cell: Cell, stage: StageName, cached: boolean): void;
  /** Called as a stage reports progress. */
  onProgress?(cell: Cell, stage: StageName, done: number, total: number): void;
  /** Called when a stage has finished. */
  onStageEnd?(cell: Cell, stage: StageName, seconds: number, cached: boolean): void;
  /** Called when a cell is done, skipped, or failed: failures show as they happen. */
  onCellEnd?(summary: CellSummary): void;
  /** Called once at the end. */
  onRunEnd?(summaries: readonly CellSummary[]): void;
}
