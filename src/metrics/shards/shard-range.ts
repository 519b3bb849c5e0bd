// which images a shard owns: contiguous index ranges, so that concatenating the shards in order is the one stream.
import { BadInputError } from '../../errors.js';

export interface ShardRange {
  /** first index (inclusive) */
  start: number;
  /** one past the last index; start === end is an empty shard */
  end: number;
}

/**
 * Shard `index` of `shards` over `total` items: the first `total % shards` shards take one item more, so sizes
 * differ by at most one and every item belongs to exactly one shard (more shards than items leaves some empty).
 */
export function shardRange(total: number, shards: number, index: number): ShardRange {
  if (!Number.isInteger(shards) || shards < 1) throw new BadInputError('SHARDS_COUNT', `the shard count must be a positive integer, got ${shards}`);
  if (!Number.isInteger(index) || index < 0 || index >= shards) throw new BadInputError('SHARDS_INDEX', `shard ${index} does not exist: shards are numbered 0 to ${shards - 1}`);
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`shardRange: total must be a non-negative integer, got ${total}`);
  const base = Math.floor(total / shards);
  const extra = total % shards;
  const start = index * base + Math.min(index, extra);
  return { start, end: start + base + (index < extra ? 1 : 0) };
}

/**
 * Shard `index` of `shards` over `total` items cut into batches of `batch`: whole batches, so that every batch a
 * shard runs is a batch of the one stream. Batched kernels (onnxruntime's, tfjs's) can round a row differently in
 * another batch, and a sampler may draw its noise per batch: only identical batches make the shards' output bit
 * for bit the single stream's.
 */
export function shardBatches(total: number, batch: number, shards: number, index: number): ShardRange {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`shardBatches: batch must be a positive integer, got ${batch}`);
  const r = shardRange(Math.ceil(total / batch), shards, index);
  return { start: Math.min(total, r.start * batch), end: Math.min(total, r.end * batch) };
}

/** `i/n` (a Slurm array task or a worker naming its shard) as { index, shards } */
export function parseShardSpec(text: string): { index: number; shards: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new BadInputError('SHARDS_SPEC', `--shard ${text}: expected i/n, e.g. 0/4`);
  const index = Number(m[1]);
  const shards = Number(m[2]);
  shardRange(0, shards, index);
  return { index, shards };
}
