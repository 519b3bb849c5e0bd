// where a stage's shard processes run when `vsdlab run --shard-executor slurm` says so: one Slurm array per shard
// job (sbatch --wait), task i running shard i. Without it the stages run their shards as local worker processes.
import type { ShardJob } from '../tracking/stage.js';
import { submitShardArray, type SlurmOptions } from './slurm.js';

export const SHARD_EXECUTORS = ['pool', 'slurm'] as const;
export type ShardExecutorName = (typeof SHARD_EXECUTORS)[number];

/** the #SBATCH settings of every shard array of the run */
export type ShardSlurmOptions = Omit<SlurmOptions, 'dir' | 'runArgv'>;

/** one `sbatch --array` job over the missing shards, waited for; its script and task logs go to `job.dir` */
export const runShardsOnSlurm = (slurm: ShardSlurmOptions) => async (job: ShardJob): Promise<void> => {
  await submitShardArray({ ...slurm, name: job.name, dir: job.dir, workerArgv: [process.execPath, ...job.workerArgv], shards: job.shards, total: job.total, wait: true, signal: job.signal });
};

/** the StageContext.runShards of an executor: undefined for the pool (the stages' default) */
export const shardExecutor = (name: ShardExecutorName, slurm: ShardSlurmOptions = {}): ((job: ShardJob) => Promise<void>) | undefined =>
  name === 'slurm' ? runShardsOnSlurm(slurm) : undefined;
