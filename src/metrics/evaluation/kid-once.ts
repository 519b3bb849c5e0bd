// KID with every kernel value computed once. kernelInceptionDistance (metrics/stats) forms three m x m Gram
// matrices per subset: 100 subsets of 500 rows at d = 128 are 6.4 G multiply-adds, 3–4 s of a 500-image
// evaluation, although the subsets draw from only a few hundred or thousand rows. Here a side that is small
// enough gets the kernel values of all its row pairs once, and each subset sums them by lookup in the same
// order as the direct form. A dot product of two rows does not depend on where the rows sit in a Gram matrix
// (same operands, same order over the feature axis, the same cache blocking), so the subset values, their mean
// and std are bit-identical to kernelInceptionDistance's (test/metrics/evaluation/kid-once.test.ts). The
// reference side's self terms do not depend on the generated images at all: a memo (an evaluation's
// content-addressed file store) lets every cell of a study reuse them.
import { BadInputError } from '../../errors.js';
import { sha256Parts } from '../../util/hash.js';
import { dotRows } from '../stats/dense-kernels.js';
import { assertSameDims, checkFeatureMatrix, gatherRows, type FeatureMatrix } from '../stats/feature-matrix.js';
import { NumpyRandomState, type KidOptions, type KidResult } from '../stats/index.js';
import { kidOfSubsets } from '../stats/kernel-inception-distance.js';

/** the reference side's per-subset self terms, stored under a key naming its features and the draws */
export interface KidReferenceMemo {
  get(key: string): Float64Array | undefined;
  set(key: string, values: Float64Array): void;
}

export interface KidOnceOptions extends Omit<KidOptions, 'subsetIndices'> {
  /** reuse the second (reference) set's self terms: the same features, seed and sizes give the same values */
  referenceMemo?: KidReferenceMemo;
}

// largest all-pairs tables: 2048² and 4M float64 values (32 MiB); bigger sides take the per-subset form
const SELF_ROWS = 2048;
const CROSS_VALUES = 4 * 1024 * 1024;

const cubeOf = (g: number, d: number): number => {
  const t = g / d + 1;
  return t * t * t;
};

type Draws = ReadonlyArray<Int32Array>;

/** Σ_{i<j} k(z_i, z_j) · 2 of each subset's rows of `side`, in kernelInceptionDistance's order */
function selfTerms(side: FeatureMatrix, draws: Draws, m: number): Float64Array {
  const d = side.dims;
  const out = new Float64Array(draws.length);
  if (side.rows <= SELF_ROWS && side.rows * side.rows <= draws.length * m * m) {
    const n = side.rows;
    const all = gatherRows(side, null);
    const K = new Float64Array(n * n);
    dotRows(all, 0, d, all, 0, d, K, 0, n, n, n, d, 1, { upper: true });
    // the upper triangle's cubes, mirrored: K[a, b] = K[b, a] = k(row a, row b)
    for (let a = 0; a < n; a++) {
      const ra = a * n;
      for (let b = a + 1; b < n; b++) {
        const v = cubeOf(K[ra + b]!, d);
        K[ra + b] = v;
        K[b * n + a] = v;
      }
    }
    for (const [s, idx] of draws.entries()) {
      let sum = 0;
      for (let i = 0; i < m; i++) {
        const ri = idx[i]! * n;
        for (let j = i + 1; j < m; j++) sum += K[ri + idx[j]!]!;
      }
      out[s] = 2 * sum;
    }
    return out;
  }
  const Z = new Float64Array(m * d);
  const G = new Float64Array(m * m);
  for (const [s, idx] of draws.entries()) {
    gatherRows(side, idx, Z);
    G.fill(0);
    dotRows(Z, 0, d, Z, 0, d, G, 0, m, m, m, d, 1, { upper: true });
    let sum = 0;
    for (let i = 0; i < m; i++) {
      const ri = i * m;
      for (let j = i + 1; j < m; j++) sum += cubeOf(G[ri + j]!, d);
    }
    out[s] = 2 * sum;
  }
  return out;
}

/** Σ_{i,j} k(x_i, y_j) of each subset pair, in kernelInceptionDistance's order */
function crossTerms(first: FeatureMatrix, second: FeatureMatrix, draws: ReadonlyArray<{ first: Int32Array; second: Int32Array }>, m: number): Float64Array {
  const d = first.dims;
  const out = new Float64Array(draws.length);
  const nf = first.rows;
  const ns = second.rows;
  if (nf * ns <= CROSS_VALUES && nf * ns <= draws.length * m * m) {
    const K = new Float64Array(nf * ns);
    dotRows(gatherRows(first, null), 0, d, gatherRows(second, null), 0, d, K, 0, ns, nf, ns, d, 1);
    for (let i = 0; i < K.length; i++) K[i] = cubeOf(K[i]!, d);
    for (const [s, p] of draws.entries()) {
      let sum = 0;
      for (let i = 0; i < m; i++) {
        const ri = p.first[i]! * ns;
        for (let j = 0; j < m; j++) sum += K[ri + p.second[j]!]!;
      }
      out[s] = sum;
    }
    return out;
  }
  const X = new Float64Array(m * d);
  const Y = new Float64Array(m * d);
  const G = new Float64Array(m * m);
  for (const [s, p] of draws.entries()) {
    gatherRows(first, p.first, X);
    gatherRows(second, p.second, Y);
    G.fill(0);
    dotRows(X, 0, d, Y, 0, d, G, 0, m, m, m, d, 1);
    let sum = 0;
    for (let i = 0; i < m * m; i++) sum += cubeOf(G[i]!, d);
    out[s] = sum;
  }
  return out;
}

/** the memo key of the reference side's self terms: its features (as stored), its draws and the kernel */
function referenceKey(second: FeatureMatrix, draws: Draws): string {
  const data = second.data;
  const parts: Array<string | Uint8Array> = [`kid-self-v1 ${data instanceof Float32Array ? 'f32' : 'f64'} ${second.rows}x${second.dims} ${draws.length}\n`];
  parts.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  for (const idx of draws) parts.push(new Uint8Array(idx.buffer, idx.byteOffset, idx.byteLength));
  return sha256Parts(parts);
}

/**
 * kernelInceptionDistance(first, second, options), the same numbers bit for bit, with each kernel value
 * computed once where the sets are small enough and the second set's self terms taken from the memo.
 */
export function kernelInceptionDistanceOnce(first: FeatureMatrix, second: FeatureMatrix, options: KidOnceOptions = {}): KidResult {
  checkFeatureMatrix(first, 'first features', 2);
  checkFeatureMatrix(second, 'second features', 2);
  assertSameDims(first.dims, second.dims, 'feature sets');
  const subsets = options.subsets ?? 100;
  const m = Math.min(options.subsetSize ?? 1000, first.rows, second.rows);
  if (!Number.isInteger(subsets) || subsets < 1) throw new BadInputError('STATS_BAD_OPTION', `subsets must be a positive integer, got ${subsets}`);
  // the draws of kernelInceptionDistance: one stream, first then second per subset
  const rng = new NumpyRandomState(options.seed ?? 2020);
  const draws: Array<{ first: Int32Array; second: Int32Array }> = [];
  for (let s = 0; s < subsets; s++) {
    const a = rng.choiceWithoutReplacement(first.rows, m);
    const b = rng.choiceWithoutReplacement(second.rows, m);
    draws.push({ first: a, second: b });
  }
  if (m < 2) throw new BadInputError('STATS_TOO_FEW_SAMPLES', `an unbiased MMD needs subsets of at least 2 samples, got ${m}`);
  const kxx = selfTerms(first, draws.map((p) => p.first), m);
  const secondDraws = draws.map((p) => p.second);
  const memo = options.referenceMemo;
  const key = memo ? referenceKey(second, secondDraws) : '';
  let kyy = memo?.get(key);
  if (kyy === undefined || kyy.length !== subsets) {
    kyy = selfTerms(second, secondDraws, m);
    memo?.set(key, kyy);
  }
  const kxy = crossTerms(first, second, draws, m);
  const values = new Float64Array(subsets);
  for (let s = 0; s < subsets; s++) values[s] = (kxx[s]! + kyy[s]!) / (m * (m - 1)) - (2 * kxy[s]!) / (m * m);
  return kidOfSubsets(values, m);
}
