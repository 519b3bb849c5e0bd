// improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour balls, as torch-fidelity
// and the guided-diffusion evaluator: a point lies on a manifold when it is within the k-NN radius of one of its points.
import { BadInputError } from '../../errors.js';
import { assertSameDims, checkFeatureMatrix, gatherRows, type FeatureMatrix } from './feature-matrix.js';
import { dotRows } from './dense-kernels.js';

export interface PrecisionRecallOptions {
  /** neighbourhood size (3) */
  k?: number;
}

export interface PrecisionRecallResult {
  /** fraction of generated points inside at least one real k-NN ball */
  precision: number;
  /** fraction of real points inside at least one generated k-NN ball */
  recall: number;
  /** 2PR / (P + R), 0 when both are 0 */
  f1: number;
}

// rows of the distance matrix computed at a time: bounds memory at ROW_BLOCK * n doubles
const ROW_BLOCK = 64;

function squaredNorms(X: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += X[i * d + j]! ** 2;
    out[i] = s;
  }
  return out;
}

// visits squared euclidean distances block by block: fn(row, distancesToAllColumns)
function forEachDistanceRow(
  X: Float64Array, nx: number, xNorm: Float64Array, Y: Float64Array, ny: number, yNorm: Float64Array, d: number,
  fn: (row: number, dist: Float64Array, offset: number) => void,
): void {
  const block = new Float64Array(ROW_BLOCK * ny);
  for (let r0 = 0; r0 < nx; r0 += ROW_BLOCK) {
    const rows = Math.min(ROW_BLOCK, nx - r0);
    block.fill(0, 0, rows * ny);
    dotRows(X, r0 * d, d, Y, 0, d, block, 0, ny, rows, ny, d, 1);
    for (let r = 0; r < rows; r++) {
      const o = r * ny;
      const xn = xNorm[r0 + r]!;
      for (let j = 0; j < ny; j++) block[o + j] = Math.max(xn + yNorm[j]! - 2 * block[o + j]!, 0);
      fn(r0 + r, block, o);
    }
  }
}

/** squared distance of each row to its k-th nearest other row of the same set (self excluded). */
export function kthNeighbourRadii(X: Float64Array, n: number, d: number, k: number): Float64Array {
  if (n <= k) throw new BadInputError('STATS_TOO_FEW_SAMPLES', `k-NN radii with k=${k} need more than ${k} samples, got ${n}`);
  const norms = squaredNorms(X, n, d);
  const radii = new Float64Array(n);
  const best = new Float64Array(k + 1);
  forEachDistanceRow(X, n, norms, X, n, norms, d, (row, dist, o) => {
    // the k+1 smallest distances including the point itself (kthvalue(k + 1) of the full row)
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      const v = j === row ? 0 : dist[o + j]!;
      if (v < best[k]!) {
        let p = k;
        while (p > 0 && best[p - 1]! > v) {
          best[p] = best[p - 1]!;
          p--;
        }
        best[p] = v;
      }
    }
    radii[row] = best[k]!;
  });
  return radii;
}

function coverage(X: Float64Array, nx: number, Y: Float64Array, ny: number, yRadii: Float64Array, d: number): number {
  let inside = 0;
  forEachDistanceRow(X, nx, squaredNorms(X, nx, d), Y, ny, squaredNorms(Y, ny, d), d, (_row, dist, o) => {
    for (let j = 0; j < ny; j++) {
      if (dist[o + j]! <= yRadii[j]!) {
        inside++;
        return;
      }
    }
  });
  return inside / nx;
}

export function precisionRecall(real: FeatureMatrix, generated: FeatureMatrix, options: PrecisionRecallOptions = {}): PrecisionRecallResult {
  const k = options.k ?? 3;
  if (!Number.isInteger(k) || k < 1) throw new BadInputError('STATS_BAD_OPTION', `k must be a positive integer, got ${k}`);
  checkFeatureMatrix(real, 'real features', k + 1);
  checkFeatureMatrix(generated, 'generated features', k + 1);
  assertSameDims(real.dims, generated.dims, 'feature sets');
  const d = real.dims;
  const R = gatherRows(real, null);
  const G = gatherRows(generated, null);
  const realRadii = kthNeighbourRadii(R, real.rows, d, k);
  const genRadii = kthNeighbourRadii(G, generated.rows, d, k);
  const precision = coverage(G, generated.rows, R, real.rows, realRadii, d);
  const recall = coverage(R, real.rows, G, generated.rows, genRadii, d);
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
