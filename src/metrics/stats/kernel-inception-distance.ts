// KID: unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.
import { BadInputError } from '../../errors.js';
import { assertSameDims, checkFeatureMatrix, gatherRows, type FeatureMatrix } from './feature-matrix.js';
import { dotRows } from './dense-kernels.js';
import { NumpyRandomState } from './numpy-random-state.js';

export interface KidOptions {
  /** number of subsets (100) */
  subsets?: number;
  /** largest subset size (1000); the size used is min(subsetSize, first.rows, second.rows) as in clean-fid */
  subsetSize?: number;
  /**
   * seed of numpy's legacy RandomState (torch-fidelity: 2020). per subset we draw choice(first.rows, m,
   * replace=False) and then choice(second.rows, m, replace=False) from the same stream, like torch-fidelity's
   * kid_features_to_metric(features_1=first, features_2=second). clean-fid's kernel_distance(feats1, feats2) draws
   * for feats2 first, from the global np.random state: after np.random.seed(s) it equals ours with
   * first = feats2, second = feats1, seed = s.
   */
  seed?: number;
  /** explicit row indices per subset instead of drawing them (each pair: m indices into first and into second). */
  subsetIndices?: ReadonlyArray<{ first: Int32Array; second: Int32Array }>;
}

export interface KidResult {
  mean: number;
  /** population standard deviation over subsets (np.std / torch std(unbiased=False)) */
  std: number;
  /** the MMD^2 of each subset */
  values: Float64Array;
  subsetSize: number;
}

/** unbiased MMD^2 between row sets X and Y (m x d each, float64) with the cubic polynomial kernel. */
export function polynomialMmd2(X: Float64Array, Y: Float64Array, m: number, d: number): number {
  if (m < 2) throw new BadInputError('STATS_TOO_FEW_SAMPLES', `an unbiased MMD needs subsets of at least 2 samples, got ${m}`);
  const G = new Float64Array(m * m);
  const cube = (g: number): number => {
    const t = g / d + 1;
    return t * t * t;
  };
  const offDiagonalSum = (Z: Float64Array): number => {
    G.fill(0);
    dotRows(Z, 0, d, Z, 0, d, G, 0, m, m, m, d, 1, { upper: true });
    let s = 0;
    for (let i = 0; i < m; i++) {
      const ri = i * m;
      for (let j = i + 1; j < m; j++) s += cube(G[ri + j]!);
    }
    return 2 * s;
  };
  const kxx = offDiagonalSum(X);
  const kyy = offDiagonalSum(Y);
  G.fill(0);
  dotRows(X, 0, d, Y, 0, d, G, 0, m, m, m, d, 1);
  let kxy = 0;
  for (let i = 0; i < m * m; i++) kxy += cube(G[i]!);
  return (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}

export function kernelInceptionDistance(first: FeatureMatrix, second: FeatureMatrix, options: KidOptions = {}): KidResult {
  checkFeatureMatrix(first, 'first features', 2);
  checkFeatureMatrix(second, 'second features', 2);
  assertSameDims(first.dims, second.dims, 'feature sets');
  const d = first.dims;
  let pairs: ReadonlyArray<{ first: Int32Array; second: Int32Array }>;
  if (options.subsetIndices !== undefined) {
    pairs = options.subsetIndices;
    if (pairs.length === 0) throw new BadInputError('STATS_BAD_OPTION', 'subsetIndices is empty');
    for (const [s, p] of pairs.entries()) {
      if (p.first.length !== p.second.length || p.first.length !== pairs[0]!.first.length) {
        throw new BadInputError('STATS_BAD_OPTION', `subset ${s} has index lists of different sizes`);
      }
      for (const [idx, rows] of [[p.first, first.rows], [p.second, second.rows]] as const) {
        for (const v of idx) if (!(v >= 0 && v < rows)) throw new BadInputError('STATS_BAD_OPTION', `subset ${s} has row index ${v} outside 0..${rows - 1}`);
      }
    }
  } else {
    const subsets = options.subsets ?? 100;
    const size = Math.min(options.subsetSize ?? 1000, first.rows, second.rows);
    if (!Number.isInteger(subsets) || subsets < 1) throw new BadInputError('STATS_BAD_OPTION', `subsets must be a positive integer, got ${subsets}`);
    const rng = new NumpyRandomState(options.seed ?? 2020);
    const drawn: { first: Int32Array; second: Int32Array }[] = [];
    for (let s = 0; s < subsets; s++) {
      const a = rng.choiceWithoutReplacement(first.rows, size);
      const b = rng.choiceWithoutReplacement(second.rows, size);
      drawn.push({ first: a, second: b });
    }
    pairs = drawn;
  }
  const m = pairs[0]!.first.length;
  const X = new Float64Array(m * d);
  const Y = new Float64Array(m * d);
  const values = new Float64Array(pairs.length);
  for (const [s, p] of pairs.entries()) {
    gatherRows(first, p.first, X);
    gatherRows(second, p.second, Y);
    values[s] = polynomialMmd2(X, Y, m, d);
  }
  return kidOfSubsets(values, m);
}

/** KID from its per-subset MMD² values: their mean and population std (torch-fidelity's np.std), as one result */
export function kidOfSubsets(values: Float64Array, m: number): KidResult {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let v2 = 0;
  for (const v of values) v2 += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(v2 / values.length), values, subsetSize: m };
}
