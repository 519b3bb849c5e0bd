// cholesky factorisations of symmetric positive (semi-)definite float64 matrices, row-major.
import { dotRows } from './dense-kernels.js';

/** S[perm, perm] = L L^T with L n x rank lower-trapezoidal (stored n x n, zero beyond column rank). */
export interface CholeskyFactor {
  n: number;
  rank: number;
  /** n x n row-major; row i belongs to original index perm[i]; columns >= rank are zero. */
  L: Float64Array;
  perm: Int32Array;
  pivoted: boolean;
}

const PANEL = 64;

/** LAPACK's default rank tolerance for semidefinite pivoting (xPSTRF): n * eps * max diagonal. */
export function rankTolerance(S: Float64Array, n: number): number {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, S[i * n + i]!);
  return n * Number.EPSILON * maxDiag;
}

/**
 * blocked right-looking cholesky; reads only the lower triangle of S. returns null as soon as a pivot
 * falls to the rank tolerance or below (singular or indefinite input), so the caller can pivot instead.
 */
export function blockedCholesky(S: Float64Array, n: number, tol = rankTolerance(S, n), panel = PANEL): CholeskyFactor | null {
  const W = Float64Array.from(S);
  for (let J = 0; J < n; J += panel) {
    const jb = Math.min(panel, n - J);
    for (let c = J; c < J + jb; c++) {
      const rc = c * n;
      let s = W[rc + c]!;
      for (let q = J; q < c; q++) s -= W[rc + q]! * W[rc + q]!;
      if (!(s > tol)) return null;
      const lcc = Math.sqrt(s);
      W[rc + c] = lcc;
      for (let i = c + 1; i < n; i++) {
        const ri = i * n;
        let t = W[ri + c]!;
        for (let q = J; q < c; q++) t -= W[ri + q]! * W[rc + q]!;
        W[ri + c] = t / lcc;
      }
    }
    const rest = n - J - jb;
    if (rest > 0) {
      const off = (J + jb) * n + J;
      dotRows(W, off, n, W, off, n, W, (J + jb) * n + J + jb, n, rest, rest, jb, -1, { lower: true });
    }
  }
  for (let i = 0; i < n; i++) W.fill(0, i * n + i + 1, (i + 1) * n);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  return { n, rank: n, L: W, perm, pivoted: false };
}

/**
 * cholesky with symmetric (diagonal) pivoting for positive semidefinite S, as LAPACK xPSTRF: each step
 * takes the largest remaining diagonal and stops once it is <= tol; the rank is the number of steps.
 * left-looking and unblocked (dot products of contiguous rows): slower, used for singular inputs only.
 */
export function pivotedCholesky(S: Float64Array, n: number, tol = rankTolerance(S, n)): CholeskyFactor {
  const L = new Float64Array(n * n);
  const perm = new Int32Array(n);
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    perm[i] = i;
    diag[i] = S[i * n + i]!;
  }
  let rank = n;
  for (let j = 0; j < n; j++) {
    let q = j;
    for (let i = j + 1; i < n; i++) if (diag[i]! > diag[q]!) q = i;
    if (!(diag[q]! > tol)) {
      rank = j;
      break;
    }
    if (q !== j) {
      const tp = perm[j]!; perm[j] = perm[q]!; perm[q] = tp;
      const td = diag[j]!; diag[j] = diag[q]!; diag[q] = td;
      const rj = j * n;
      const rq = q * n;
      for (let k = 0; k < j; k++) {
        const t = L[rj + k]!; L[rj + k] = L[rq + k]!; L[rq + k] = t;
      }
    }
    const rj = j * n;
    const ljj = Math.sqrt(diag[j]!);
    L[rj + j] = ljj;
    const pj = perm[j]!;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      const pi = perm[i]!;
      // S is symmetric: read the entry from its lower triangle
      let t = pi > pj ? S[pi * n + pj]! : S[pj * n + pi]!;
      for (let k = 0; k < j; k++) t -= L[ri + k]! * L[rj + k]!;
      const lij = t / ljj;
      L[ri + j] = lij;
      diag[i] = diag[i]! - lij * lij;
    }
  }
  return { n, rank, L, perm, pivoted: true };
}

/** the fast unpivoted factor when S is numerically positive definite, otherwise the pivoted one. */
export function choleskyFactor(S: Float64Array, n: number): CholeskyFactor {
  const tol = rankTolerance(S, n);
  return blockedCholesky(S, n, tol) ?? pivotedCholesky(S, n, tol);
}
