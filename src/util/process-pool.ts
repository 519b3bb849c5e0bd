// node child processes, at most `jobs` at a time: the workers of a sharded evaluation (`vsdlab shards worker`).
import { spawn } from 'node:child_process';
import { FailureError } from '../errors.js';

export interface ProcessPoolOptions {
  /** the shard indexes to run (those without a finished state) */
  shards: readonly number[];
  jobs: number;
  /** what shard i runs after the node binary */
  argv: (shard: number) => readonly string[];
  /** each line a worker prints on stderr (progress, warnings), with its shard */
  onLine?: (shard: number, line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs the shards as separate processes, `jobs` at once. Each writes its own state file, so a worker that dies
 * costs only its shard; a failure is reported after the other shards have finished, naming the shard and its last line.
 */
export async function runProcessPool(o: ProcessPoolOptions): Promise<void> {
  const queue = [...o.shards];
  const failures: string[] = [];
  const runOne = (shard: number): Promise<void> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [...o.argv(shard)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VSDLAB_WORKER: String(shard) } });
      const abort = (): boolean => child.kill('SIGINT');
      o.signal?.addEventListener('abort', abort, { once: true });
      let last = '';
      let partial = '';
      child.stderr.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines.filter((l) => l.trim() !== '')) {
          last = line;
          o.onLine?.(shard, line);
        }
      });
      child.on('close', (code, signal) => {
        o.signal?.removeEventListener('abort', abort);
        if (partial.trim() !== '') last = partial;
        if (code !== 0) failures.push(`shard ${shard} exited with ${signal ?? `code ${code}`}${last ? `: ${last.trim()}` : ''}`);
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    for (let shard = queue.shift(); shard !== undefined && !o.signal?.aborted; shard = queue.shift()) await runOne(shard);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, o.shards.length)) }, worker));
  o.signal?.throwIfAborted();
  if (failures.length > 0) throw new FailureError('SHARDS_FAILED', failures.join('; '), 'finished shards are kept: rerun the same command to run the failed ones');
}
