import type { CellConfig } from '../config/schema.js';
import type { Cell } from '../plan/plan.js';

export type StageName = 'distill' | 'generate' | 'evaluate';

/** What a finished stage leaves behind: its folder and a small JSON result (metrics, paths, backend). */
export interface StageOutput {
  stage: StageName;
  key: string;
  dir: string;
  result: Record<string, unknown>;
}

export interface StageContext {
  cell: Cell;
  /**
   * The stage's working folder for this key. It survives a killed process, so a stage resumes from the
   * checkpoints it wrote here; it becomes the cached output folder when the stage returns.
   */
  workDir: string;
  upstream: Readonly<Partial<Record<StageName, StageOutput>>>;
  /** appends one record to the stage's history.jsonl (loss, gradient norm, ...) */
  log(record: Record<string, number | string | boolean>): void;
  progress(done: number, total: number): void;
  signal: AbortSignal;
}

/** One step of a cell. Its output is cached under the hash of `inputs`, its version and upstream keys. */
export interface Stage {
  name: StageName;
  /** bump when the stage's output for the same inputs changes */
  version: string;
  /** the part of the cell config that determines this stage's output */
  inputs(config: CellConfig): unknown;
  /** dotted prefixes of the asset keys this stage reads (their sha256 joins the stage key) */
  assets: readonly string[];
  run(ctx: StageContext): Promise<Record<string, unknown>>;
}
