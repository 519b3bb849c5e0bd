// the shape every statistic in this folder takes its features in, and the input checks they share.
import { BadInputError } from '../../errors.js';

/** `rows` feature vectors of `dims` values each, row-major. */
export interface FeatureMatrix {
  data: Float32Array | Float64Array;
  rows: number;
  dims: number;
}

/** wraps a flat row-major array; checks that its length is rows * dims. */
export function featureMatrix(data: Float32Array | Float64Array, dims: number): FeatureMatrix {
  if (!Number.isInteger(dims) || dims < 1) throw new BadInputError('STATS_BAD_DIMS', `feature dims must be a positive integer, got ${dims}`);
  if (data.length % dims !== 0) {
    throw new BadInputError('STATS_DIMS_MISMATCH', `feature array has ${data.length} values, not a multiple of ${dims} dims`);
  }
  return { data, rows: data.length / dims, dims };
}

/** throws naming the first row (rowOffset-based) that holds NaN or Infinity. */
export function assertFiniteRows(data: Float32Array | Float64Array, dims: number, rowOffset = 0, what = 'feature'): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      const row = rowOffset + Math.floor(i / dims);
      throw new BadInputError('STATS_NON_FINITE', `${what} row ${row} has a non-finite value (${v}) at dim ${i % dims}`);
    }
  }
}

export function assertSameDims(a: number, b: number, what: string): void {
  if (a !== b) throw new BadInputError('STATS_DIMS_MISMATCH', `${what} have different dims: ${a} vs ${b}`);
}

export function assertMinRows(rows: number, min: number, what: string): void {
  if (rows < min) throw new BadInputError('STATS_TOO_FEW_SAMPLES', `${what} needs at least ${min} samples, got ${rows}`);
}

/** checks shape consistency and finiteness of a FeatureMatrix given by a caller. */
export function checkFeatureMatrix(m: FeatureMatrix, what: string, minRows: number): void {
  if (!Number.isInteger(m.dims) || m.dims < 1 || !Number.isInteger(m.rows) || m.rows < 0 || m.data.length !== m.rows * m.dims) {
    throw new BadInputError('STATS_DIMS_MISMATCH', `${what}: ${m.data.length} values do not make ${m.rows} rows x ${m.dims} dims`);
  }
  assertMinRows(m.rows, minRows, what);
  assertFiniteRows(m.data, m.dims, 0, `${what}`);
}

/** selected rows as a float64 matrix (rows x dims). */
export function gatherRows(m: FeatureMatrix, index: Int32Array | null, out?: Float64Array): Float64Array {
  const rows = index === null ? m.rows : index.length;
  const dst = out ?? new Float64Array(rows * m.dims);
  for (let r = 0; r < rows; r++) {
    const src = (index === null ? r : index[r]!) * m.dims;
    const o = r * m.dims;
    for (let j = 0; j < m.dims; j++) dst[o + j] = m.data[src + j]!;
  }
  return dst;
}
