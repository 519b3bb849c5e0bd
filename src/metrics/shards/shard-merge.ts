// the shards of one image set back into one stream: moments merged (chan's update), rows concatenated in index
// order, CLIP cosines likewise. The result equals what one process reading every image in order would hold.
import { BadInputError } from '../../errors.js';
import { FeatureAccumulator, type FeatureStats, type FinalizeOptions } from '../stats/feature-accumulator.js';
import { featureMatrix, type FeatureMatrix } from '../stats/feature-matrix.js';
import type { ShardState } from './shard-state.js';

export interface MergedShards {
  /** images over all shards */
  n: number;
  dims: number;
  files: string[];
  extractor: string;
  resolution: number;
  mode: string;
  /** the merged moment state */
  accumulator: FeatureAccumulator;
  /** every row, shard after shard */
  features: FeatureMatrix;
  cosines?: Float64Array;
  clip?: string;
}

const fail = (message: string): never => {
  throw new BadInputError('SHARDS_MISMATCH', message, 'rerun the shards of one evaluation into one folder (delete stale shard files)');
};

/**
 * Merges the states of shards 0..n-1 (any order given). They must tile [0, N) without gap or overlap and come from
 * one extractor and mode. Empty shards are allowed.
 */
export function mergeShards(states: readonly ShardState[]): MergedShards {
  if (states.length === 0) fail('no shard states to merge');
  const sorted = [...states].sort((a, b) => a.index - b.index);
  const shards = sorted[0]!.shards;
  // shards with images; a CLIP-only evaluation's shards have images but no feature rows (extractor '')
  const nonEmpty = sorted.filter((s) => s.files.length > 0);
  const first = nonEmpty[0] ?? sorted[0]!;
  const dims = first.snapshot.dims;
  let end = 0;
  for (const [i, s] of sorted.entries()) {
    if (s.shards !== shards || s.index !== i) fail(`shard ${s.index} of ${shards} found where shard ${i} of ${shards} belongs`);
    if (s.start !== end) fail(`shard ${i} starts at image ${s.start}, the previous shard ended at ${end}`);
    const rows = s.extractor === '' ? 0 : s.files.length;
    if (s.files.length !== s.end - s.start || s.snapshot.n !== rows) fail(`shard ${i} holds ${s.snapshot.n} rows for images ${s.start}..${s.end}`);
    if (s.files.length > 0 && (s.extractor !== first.extractor || s.mode !== first.mode || s.snapshot.dims !== dims)) {
      fail(`shard ${i} was extracted with ${s.extractor.slice(0, 12) || 'no extractor'}/${s.mode} (${s.snapshot.dims} dims), shard ${first.index} with ${first.extractor.slice(0, 12) || 'no extractor'}/${first.mode} (${dims} dims)`);
    }
    if ((s.cosines === undefined) !== (first.cosines === undefined) || (s.files.length > 0 && s.clip !== first.clip)) fail(`shard ${i} and shard ${first.index} differ in their CLIP model`);
    end = s.end;
  }
  if (shards !== sorted.length) fail(`${sorted.length} shard states for ${shards} shards`);
  const n = end;
  const features = new Float32Array(first.extractor === '' ? 0 : n * dims);
  const cosines = first.cosines ? new Float64Array(n) : undefined;
  const acc = new FeatureAccumulator(Math.max(dims, 1));
  for (const s of nonEmpty) {
    if (s.snapshot.n > 0) {
      features.set(s.features, s.start * dims);
      acc.merge(s.snapshot);
    }
    cosines?.set(s.cosines!, s.start);
  }
  // clean-fid's float32 mean adds rows one after another; a sum of shard sums rounds differently, so the float32
  // sums are taken again over the rows in order (the float64 moments need no such pass)
  const snapshot = acc.snapshot();
  snapshot.sum32 = sequentialFloat32Sum(features, dims);
  return {
    n,
    dims,
    files: sorted.flatMap((s) => s.files),
    extractor: first.extractor,
    resolution: first.resolution,
    mode: first.mode,
    accumulator: FeatureAccumulator.fromSnapshot(snapshot),
    features: featureMatrix(features, Math.max(dims, 1)),
    ...(cosines ? { cosines, clip: first.clip! } : {}),
  };
}

/** the merged mean and covariance, with the mode's mean convention */
export const mergedStatistics = (m: MergedShards, options: FinalizeOptions = {}): FeatureStats => m.accumulator.finalize(options);

function sequentialFloat32Sum(rows: Float32Array, dims: number): Float32Array {
  const sum = new Float32Array(Math.max(dims, 1));
  for (let o = 0; o < rows.length; o += dims) {
    for (let j = 0; j < dims; j++) sum[j] = sum[j]! + rows[o + j]!;
  }
  return sum;
}
