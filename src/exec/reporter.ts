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

/** A long step of a command (images through an extractor, captions to sample, files to prepare). */
export interface TaskInfo {
  /** what is being done, one word: `features`, `sample`, `clip-score`, `prepare` */
  task: string;
  /** what it is done to: a folder, a model, a shard */
  label: string;
  total: number;
  /** what is counted: `images`, `captions`, `files` */
  unit: string;
  /** Date.now() at its start */
  started: number;
}

/** Lifecycle hooks of a run, and of a command's long tasks (exec/progress.ts); every hook is optional. */
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
  /** Called when a command's long task starts. */
  onTaskStart?(task: TaskInfo): void;
  /** Called as the task advances (as often as it likes: reporters throttle). */
  onTaskProgress?(task: TaskInfo, done: number): void;
  /** Called when the task has finished (done < total when it stopped early). */
  onTaskEnd?(task: TaskInfo, done: number): void;
  /** Called with a line for the user that is not a result (a warning, a skipped file). */
  onNote?(message: string): void;
}
