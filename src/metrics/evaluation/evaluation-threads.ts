// onnxruntime intra-op threads for a worker's evaluation: the cores shared by the pool's workers. Left to
// onnxruntime, every session of every worker spins a pool of one thread per core, so two workers on two cores ran
// four busy threads and the feature passes took twice their CPU time (spinning) while the other worker distilled.
import { availableParallelism } from 'node:os';

/** `VSDLAB_WORKERS` (set by `vsdlab run -j N` in its workers): the processes sharing this machine's cores */
export function evaluationThreads(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const workers = Number(env.VSDLAB_WORKERS);
  return Math.max(1, Math.floor(cores / (Number.isInteger(workers) && workers > 0 ? workers : 1)));
}
