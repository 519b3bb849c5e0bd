// a stage's shard processes (`vsdlab shards worker` / `generate-worker`), run where `vsdlab run` says
// (StageContext.runShards: local workers or a Slurm array), local workers when it says nothing.
import { join } from 'node:path';
import { packageRoot } from '../tracking/provenance.js';
import type { ShardJob, StageContext } from '../tracking/stage.js';
import { runProcessPool } from '../util/process-pool.js';

export interface StageShards {
  /** the `vsdlab shards` action each shard runs, on `dir` */
  action: 'worker' | 'generate-worker';
  /** what the shards do, for the job's name: `generate`, `0-fid` */
  label: string;
  /** the shard job's folder (its spec and states); the executor's own files go to its slurm/ subfolder */
  dir: string;
  /** the shards that have no finished state */
  shards: readonly number[];
  total: number;
  onLine?: (shard: number, line: string) => void;
}

export async function runStageShards(ctx: Pick<StageContext, 'runShards' | 'signal' | 'cell'>, s: StageShards): Promise<void> {
  if (s.shards.length === 0) return;
  const job: ShardJob = {
    name: `${ctx.cell.name}-${s.label}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    dir: join(s.dir, 'slurm'),
    workerArgv: [join(packageRoot, 'bin', 'vsdlab.js'), 'shards', s.action, s.dir],
    shards: s.shards,
    total: s.total,
    // every shard at once: a cell's shard count is the parallelism it asked for
    jobs: s.total,
    signal: ctx.signal,
    ...(s.onLine ? { onLine: s.onLine } : {}),
  };
  if (ctx.runShards) return ctx.runShards(job);
  await runProcessPool({ shards: job.shards, jobs: job.jobs, argv: (i) => [...job.workerArgv, '--shard', `${i}/${job.total}`], signal: job.signal, ...(job.onLine ? { onLine: job.onLine } : {}) });
}
