// inception score from classifier logits: exp(E_x KL(p(y|x) || p(y))) over splits, in float64.
import { BadInputError } from '../../errors.js';
import { checkFeatureMatrix, type FeatureMatrix } from './feature-matrix.js';
import { NumpyRandomState } from './numpy-random-state.js';

export interface InceptionScoreOptions {
  /** number of splits (10) */
  splits?: number;
  /**
   * 'torch-fidelity' (default): rows shuffled by RandomState(seed).permutation (seed 2020), split i takes rows
   * [i*N//splits, (i+1)*N//splits), population std.
   * 'torchmetrics': torch.chunk splits (ceil(N/splits) rows each, so possibly fewer splits) and Bessel-corrected
   * std; torchmetrics shuffles with torch.randperm, which we cannot reproduce: pass `permutation` (or none).
   */
  convention?: 'torch-fidelity' | 'torchmetrics';
  /** numpy RandomState seed for the shuffle (torch-fidelity convention only); null = keep the given order */
  seed?: number | null;
  /** an explicit row order (overrides the seed) */
  permutation?: Int32Array;
}

export interface InceptionScoreResult {
  mean: number;
  std: number;
  /** score of each split */
  scores: Float64Array;
}

export function inceptionScore(logits: FeatureMatrix, options: InceptionScoreOptions = {}): InceptionScoreResult {
  const splits = options.splits ?? 10;
  const convention = options.convention ?? 'torch-fidelity';
  if (!Number.isInteger(splits) || splits < 1) throw new BadInputError('STATS_BAD_OPTION', `splits must be a positive integer, got ${splits}`);
  checkFeatureMatrix(logits, 'logits', splits);
  const n = logits.rows;
  const c = logits.dims;
  let order: Int32Array | null = null;
  if (options.permutation !== undefined) {
    order = options.permutation;
    const seen = new Uint8Array(n);
    if (order.length !== n) throw new BadInputError('STATS_BAD_OPTION', `permutation has ${order.length} entries for ${n} rows`);
    for (const v of order) {
      if (!(v >= 0 && v < n) || seen[v] === 1) throw new BadInputError('STATS_BAD_OPTION', `permutation is not a permutation of 0..${n - 1} (entry ${v})`);
      seen[v] = 1;
    }
  } else if (convention === 'torch-fidelity' && options.seed !== null) {
    order = new NumpyRandomState(options.seed ?? 2020).permutation(n);
  }
  // log-softmax per row in float64
  const logp = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    const src = (order === null ? i : order[i]!) * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, logits.data[src + j]!);
    let z = 0;
    for (let j = 0; j < c; j++) z += Math.exp(logits.data[src + j]! - max);
    const lz = max + Math.log(z);
    for (let j = 0; j < c; j++) logp[i * c + j] = logits.data[src + j]! - lz;
  }
  const bounds: [number, number][] = [];
  if (convention === 'torchmetrics') {
    const size = Math.ceil(n / splits);
    for (let s = 0; s < n; s += size) bounds.push([s, Math.min(n, s + size)]);
  } else {
    for (let i = 0; i < splits; i++) bounds.push([Math.floor((i * n) / splits), Math.floor(((i + 1) * n) / splits)]);
  }
  const scores = new Float64Array(bounds.length);
  const q = new Float64Array(c);
  for (const [s, [a, b]] of bounds.entries()) {
    q.fill(0);
    for (let i = a; i < b; i++) for (let j = 0; j < c; j++) q[j] = q[j]! + Math.exp(logp[i * c + j]!);
    for (let j = 0; j < c; j++) q[j] = Math.log(q[j]! / (b - a));
    let kl = 0;
    for (let i = a; i < b; i++) {
      let row = 0;
      for (let j = 0; j < c; j++) {
        const lp = logp[i * c + j]!;
        row += Math.exp(lp) * (lp - q[j]!);
      }
      kl += row;
    }
    scores[s] = Math.exp(kl / (b - a));
  }
  let mean = 0;
  for (const v of scores) mean += v;
  mean /= scores.length;
  let v2 = 0;
  for (const v of scores) v2 += (v - mean) ** 2;
  const denom = convention === 'torchmetrics' ? scores.length - 1 : scores.length;
  return { mean, std: denom > 0 ? Math.sqrt(v2 / denom) : NaN, scores };
}
