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
  /**
   * Where the stage's shard processes run (`vsdlab run --shard-executor`): local worker processes or a Slurm array,
   * waited for. Absent: local worker processes.
   */
  runShards?: (job: ShardJob) => Promise<void>;
}

/** Shards of one stage's work, each a process that leaves its own state on disk (the stage merges them). */
export interface ShardJob {
  /** names the job (a Slurm job name) */
  name: string;
  /** a folder for the executor's own files (the Slurm script and its task logs) */
  dir: string;
  /** the script and arguments of every shard's process after the node binary; the executor appends `--shard i/total` */
  workerArgv: readonly string[];
  /** the shards to run (those without a finished state) */
  shards: readonly number[];
  total: number;
  /** local workers at once */
  jobs: number;
  /** each line a worker prints on stderr, with its shard (local workers only: a Slurm task writes its log) */
  onLine?: (shard: number, line: string) => void;
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
