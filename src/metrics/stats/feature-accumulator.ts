// streaming float64 mean and covariance of feature vectors (chan et al. pairwise update), mergeable across shards.
import { BadInputError } from '../../errors.js';
import { assertFiniteRows, assertMinRows, assertSameDims } from './feature-matrix.js';
import { dotRows, mirrorUpper } from './dense-kernels.js';

/** mean and unbiased covariance of n feature vectors; sigma is dims x dims row-major. */
export interface FeatureStats {
  mu: Float64Array;
  sigma: Float64Array;
  n: number;
}

/** everything an accumulator holds, e.g. to ship a shard's state to another process. */
export interface AccumulatorSnapshot {
  dims: number;
  n: number;
  mean: Float64Array;
  /** sum of outer products of deviations from the mean (dims x dims, full symmetric). */
  m2: Float64Array;
  /** sequential float32 row sums, only used for the clean-fid float32 mean. */
  sum32: Float32Array;
}

export interface FinalizeOptions {
  /**
   * 'float64' (default): the float64 mean, as pytorch-fid's np.mean on float64 activations.
   * 'float32': clean-fid's np.mean on its float32 feature array, which numpy reduces along axis 0 by adding
   * rows one after another in float32 and dividing in float32; exact only when rows came in one stream (a merge
   * adds the shards' float32 sums).
   */
  mean?: 'float64' | 'float32';
}

// rows are buffered and folded in per chunk: memory stays (2 * CHUNK + dims) x dims doubles whatever N is
const CHUNK = 256;

export class FeatureAccumulator {
  readonly dims: number;
  private n = 0;
  private readonly mean: Float64Array;
  // upper triangle (j >= i) is kept current; the lower triangle is filled on export
  private readonly m2: Float64Array;
  private readonly sum32: Float32Array;
  private readonly buffer: Float64Array;
  private buffered = 0;

  constructor(dims: number) {
    if (!Number.isInteger(dims) || dims < 1) throw new BadInputError('STATS_BAD_DIMS', `feature dims must be a positive integer, got ${dims}`);
    this.dims = dims;
    this.mean = new Float64Array(dims);
    this.m2 = new Float64Array(dims * dims);
    this.sum32 = new Float32Array(dims);
    this.buffer = new Float64Array(CHUNK * dims);
  }

  get count(): number {
    return this.n + this.buffered;
  }

  /** adds rows of `dims` features (flat row-major); the whole batch is checked before anything is added. */
  add(batch: Float32Array | Float64Array): this {
    const d = this.dims;
    if (batch.length % d !== 0) {
      throw new BadInputError('STATS_DIMS_MISMATCH', `feature batch has ${batch.length} values, not a multiple of ${d} dims`);
    }
    assertFiniteRows(batch, d, this.n + this.buffered);
    const rows = batch.length / d;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) this.sum32[j] = this.sum32[j]! + batch[o + j]!;
    }
    // rows wait in a fixed CHUNK x dims buffer so the covariance update always multiplies long panels
    for (let r = 0; r < rows; ) {
      const take = Math.min(rows - r, CHUNK - this.buffered);
      this.buffer.set(batch.subarray(r * d, (r + take) * d), this.buffered * d);
      this.buffered += take;
      r += take;
      if (this.buffered === CHUNK) this.flush();
    }
    return this;
  }

  private flush(): void {
    if (this.buffered === 0) return;
    const d = this.dims;
    const b = this.buffered;
    const chunkMean = new Float64Array(d);
    for (let r = 0; r < b; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) chunkMean[j] = chunkMean[j]! + this.buffer[o + j]!;
    }
    for (let j = 0; j < d; j++) chunkMean[j] = chunkMean[j]! / b;
    // centred rows, transposed (dims x b) so each covariance entry is a dot product of two contiguous rows
    const centredT = new Float64Array(d * b);
    for (let r = 0; r < b; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) centredT[j * b + r] = this.buffer[o + j]! - chunkMean[j]!;
    }
    // m2 += centred^T centred (upper triangle)
    dotRows(centredT, 0, b, centredT, 0, b, this.m2, 0, d, d, d, b, 1, { upper: true });
    this.buffered = 0;
    this.mergeMoments(b, chunkMean, null);
  }

  // chan's update: combines (n, mean, m2) with another group's (nb, meanB, m2B)
  private mergeMoments(nb: number, meanB: Float64Array, m2B: Float64Array | null): void {
    const d = this.dims;
    const na = this.n;
    const n = na + nb;
    const delta = new Float64Array(d);
    for (let j = 0; j < d; j++) delta[j] = meanB[j]! - this.mean[j]!;
    const w = (na * nb) / n;
    for (let i = 0; i < d; i++) {
      const ri = i * d;
      const di = delta[i]! * w;
      if (m2B === null) {
        for (let j = i; j < d; j++) this.m2[ri + j] = this.m2[ri + j]! + di * delta[j]!;
      } else {
        for (let j = i; j < d; j++) this.m2[ri + j] = this.m2[ri + j]! + m2B[ri + j]! + di * delta[j]!;
      }
    }
    const f = nb / n;
    for (let j = 0; j < d; j++) this.mean[j] = this.mean[j]! + delta[j]! * f;
    this.n = n;
  }

  /** folds another accumulator (e.g. another shard) into this one. */
  merge(other: FeatureAccumulator | AccumulatorSnapshot): this {
    const snap = other instanceof FeatureAccumulator ? other.snapshot() : other;
    assertSameDims(this.dims, snap.dims, 'accumulators');
    if (snap.n === 0) return this;
    this.flush();
    for (let j = 0; j < this.dims; j++) this.sum32[j] = this.sum32[j]! + snap.sum32[j]!;
    this.mergeMoments(snap.n, snap.mean, snap.m2);
    return this;
  }

  /** a copy of the state (full symmetric m2). */
  snapshot(): AccumulatorSnapshot {
    this.flush();
    const m2 = Float64Array.from(this.m2);
    mirrorUpper(m2, this.dims);
    return { dims: this.dims, n: this.n, mean: Float64Array.from(this.mean), m2, sum32: Float32Array.from(this.sum32) };
  }

  static fromSnapshot(s: AccumulatorSnapshot): FeatureAccumulator {
    const d = s.dims;
    if (s.mean.length !== d || s.m2.length !== d * d || s.sum32.length !== d || !Number.isInteger(s.n) || s.n < 0) {
      throw new BadInputError('STATS_BAD_SNAPSHOT', `accumulator snapshot arrays do not match ${d} dims`);
    }
    const acc = new FeatureAccumulator(d);
    acc.n = s.n;
    acc.mean.set(s.mean);
    acc.m2.set(s.m2);
    acc.sum32.set(s.sum32);
    return acc;
  }

  /** mean and unbiased covariance (n - 1), as np.mean(x, 0) and np.cov(x, rowvar=False). */
  finalize(options: FinalizeOptions = {}): FeatureStats {
    this.flush();
    assertMinRows(this.n, 2, 'a covariance');
    const d = this.dims;
    const sigma = new Float64Array(d * d);
    const scale = 1 / (this.n - 1);
    for (let i = 0; i < d; i++) {
      const ri = i * d;
      for (let j = i; j < d; j++) sigma[ri + j] = this.m2[ri + j]! * scale;
    }
    mirrorUpper(sigma, d);
    let mu: Float64Array;
    if (options.mean === 'float32') {
      mu = new Float64Array(d);
      const n32 = Math.fround(this.n);
      for (let j = 0; j < d; j++) mu[j] = Math.fround(this.sum32[j]! / n32);
    } else {
      mu = Float64Array.from(this.mean);
    }
    return { mu, sigma, n: this.n };
  }
}

/** mean and covariance of a whole feature array in one call. */
export function featureStats(data: Float32Array | Float64Array, dims: number, options: FinalizeOptions = {}): FeatureStats {
  return new FeatureAccumulator(dims).add(data).finalize(options);
}
