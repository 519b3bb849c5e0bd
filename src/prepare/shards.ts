/**
 * Work split of a prepare run. The images (sorted by file name, the order clean-fid lists the reference folder)
 * are cut into fixed blocks of `blockSize`; shard i of n takes every n-th block starting at block i. The block
 * is the unit of completion (one record file, written last and atomically), so a killed run redoes at most the
 * blocks it was in, and the blocks do not depend on n: any split, resumed any number of times, leaves the same
 * files, and the merge reads them in block order as one stream.
 */
import { BadInputError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

export const WHOLE: Shard = { index: 0, count: 1 };

/** "i/n" with 0 <= i < n */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new BadInputError('SHARD_INVALID', `--shard ${text}: expected i/n with 0 <= i < n (e.g. 0/4)`);
  }
  return { index, count };
}

export const blockCount = (images: number, blockSize: number): number => Math.ceil(images / blockSize);

/** the blocks a shard owns, ascending */
export function shardBlocks(blocks: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let b = shard.index; b < blocks; b += shard.count) out.push(b);
  return out;
}

export const blockName = (block: number): string => String(block).padStart(6, '0');
