// eigenvalues of a real symmetric matrix: householder tridiagonalisation + implicit QL with wilkinson-type shifts.
import { BadInputError } from '../../errors.js';

/**
 * reduces the symmetric n x n matrix (lower triangle of A, row-major; A is overwritten) to tridiagonal form.
 * rows are reduced from the bottom so every householder vector is a contiguous row prefix. the rank-2 update of
 * one step is applied in the same sweep as the symmetric matrix-vector product of the next step (one pass over
 * the trailing triangle per step instead of two; the reduction is memory-bound, so passes are what cost).
 * a LAPACK-style blocked variant (xLATRD: deferred updates applied as one rank-2k product per 32 or 64 steps) was
 * measured slower here (3.7 s vs 3.05 s of CPU time at n = 2048): it still needs one pass per step for the product.
 * returns the diagonal d and the off-diagonal e (e[i] couples rows i-1 and i; e[0] = 0).
 */
export function tridiagonalize(A: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  let uPrev = new Float64Array(n);
  let wPrev = new Float64Array(n);
  let u = new Float64Array(n);
  let p = new Float64Array(n);
  let pending = false;
  for (let i = n - 1; i >= 1; i--) {
    const ri = i * n;
    const l = i - 1;
    if (pending) {
      const ui = uPrev[i]!;
      const wi = wPrev[i]!;
      for (let k = 0; k <= i; k++) A[ri + k] = A[ri + k]! - ui * wPrev[k]! - wi * uPrev[k]!;
    }
    d[i] = A[ri + i]!;
    let scale = 0;
    for (let k = 0; k <= l; k++) scale += Math.abs(A[ri + k]!);
    let h = 0;
    if (l === 0 || scale === 0) {
      e[i] = A[ri + l]!;
    } else {
      for (let k = 0; k <= l; k++) {
        const x = A[ri + k]! / scale;
        u[k] = x;
        h += x * x;
      }
      const f = u[l]!;
      const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
      e[i] = scale * g;
      h -= f * g;
      u[l] = f - g;
    }
    const size = i; // the trailing block is rows/cols 0..l
    if (h === 0) {
      if (pending) applyRank2(A, n, size, uPrev, wPrev);
      pending = false;
      continue;
    }
    p.fill(0, 0, size);
    if (pending) fusedUpdateAndProduct(A, n, size, uPrev, wPrev, u, p);
    else symmetricProduct(A, n, size, u, p);
    let up = 0;
    for (let k = 0; k < size; k++) {
      p[k] = p[k]! / h;
      up += u[k]! * p[k]!;
    }
    const K = up / (2 * h);
    // w = p - K u; the pending update is A -= u w^T + w u^T over the block
    for (let k = 0; k < size; k++) p[k] = p[k]! - K * u[k]!;
    const tu = uPrev; uPrev = u; u = tu;
    const tw = wPrev; wPrev = p; p = tw;
    pending = true;
  }
  if (pending) A[0] = A[0]! - 2 * uPrev[0]! * wPrev[0]!;
  if (n > 0) d[0] = A[0]!;
  return { d, e };
}

function applyRank2(A: Float64Array, n: number, size: number, uv: Float64Array, wv: Float64Array): void {
  for (let r = 0; r < size; r++) {
    const rr = r * n;
    const ur = uv[r]!;
    const wr = wv[r]!;
    for (let k = 0; k <= r; k++) A[rr + k] = A[rr + k]! - ur * wv[k]! - wr * uv[k]!;
  }
}

function symmetricProduct(A: Float64Array, n: number, size: number, x: Float64Array, y: Float64Array): void {
  for (let r = 0; r < size; r++) {
    const rr = r * n;
    const xr = x[r]!;
    let yr = 0;
    for (let k = 0; k < r; k++) {
      const a = A[rr + k]!;
      yr += a * x[k]!;
      y[k] = y[k]! + a * xr;
    }
    y[r] = y[r]! + yr + A[rr + r]! * xr;
  }
}

// A -= uv wv^T + wv uv^T on the lower triangle of rows 0..size-1 and, in the same sweep, y += A_new x.
// two rows at a time so the column vectors are loaded once per pair.
function fusedUpdateAndProduct(
  A: Float64Array, n: number, size: number,
  uv: Float64Array, wv: Float64Array, x: Float64Array, y: Float64Array,
): void {
  let r = 0;
  for (; r + 1 < size; r += 2) {
    const r0 = r * n;
    const r1 = r0 + n;
    const u0 = uv[r]!, w0 = wv[r]!, x0 = x[r]!;
    const u1 = uv[r + 1]!, w1 = wv[r + 1]!, x1 = x[r + 1]!;
    let y0 = 0;
    let y1 = 0;
    for (let k = 0; k < r; k++) {
      const uk = uv[k]!;
      const wk = wv[k]!;
      const xk = x[k]!;
      const a0 = A[r0 + k]! - u0 * wk - w0 * uk;
      const a1 = A[r1 + k]! - u1 * wk - w1 * uk;
      A[r0 + k] = a0;
      A[r1 + k] = a1;
      y0 += a0 * xk;
      y1 += a1 * xk;
      y[k] = y[k]! + a0 * x0 + a1 * x1;
    }
    const a00 = A[r0 + r]! - 2 * u0 * w0;
    const a10 = A[r1 + r]! - u1 * w0 - w1 * u0;
    const a11 = A[r1 + r + 1]! - 2 * u1 * w1;
    A[r0 + r] = a00;
    A[r1 + r] = a10;
    A[r1 + r + 1] = a11;
    y[r] = y[r]! + y0 + a00 * x0 + a10 * x1;
    y[r + 1] = y[r + 1]! + y1 + a10 * x0 + a11 * x1;
  }
  if (r < size) {
    const rr = r * n;
    const ur = uv[r]!, wr = wv[r]!, xr = x[r]!;
    let yr = 0;
    for (let k = 0; k < r; k++) {
      const a = A[rr + k]! - ur * wv[k]! - wr * uv[k]!;
      A[rr + k] = a;
      yr += a * x[k]!;
      y[k] = y[k]! + a * xr;
    }
    const arr = A[rr + r]! - 2 * ur * wr;
    A[rr + r] = arr;
    y[r] = y[r]! + yr + arr * xr;
  }
}

/**
 * eigenvalues of the symmetric tridiagonal matrix (d, e) with e[i] coupling i-1 and i, by implicit QL with
 * shifts. d and e are overwritten; returns d sorted ascending.
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  // shift the off-diagonal so that sub[i] couples i and i+1
  const sub = new Float64Array(n);
  for (let i = 1; i < n; i++) sub[i - 1] = e[i]!;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(sub[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) throw new BadInputError('STATS_EIGEN_NO_CONVERGENCE', 'symmetric eigenvalue iteration did not converge (matrix contains NaN or Inf?)');
      let g = (d[l + 1]! - d[l]!) / (2 * sub[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + sub[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let pshift = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * sub[i]!;
        const b = c * sub[i]!;
        r = Math.hypot(f, g);
        sub[i + 1] = r;
        if (r === 0) {
          d[i + 1] = d[i + 1]! - pshift;
          sub[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - pshift;
        r = (d[i]! - g) * s + 2 * c * b;
        pshift = s * r;
        d[i + 1] = g + pshift;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] = d[l]! - pshift;
      sub[l] = g;
      sub[m] = 0;
    }
  }
  return d.sort();
}

/** all eigenvalues (ascending) of the symmetric n x n matrix whose lower triangle is in A (A is destroyed). */
export function symmetricEigenvalues(A: Float64Array, n: number): Float64Array {
  const { d, e } = tridiagonalize(A, n);
  return tridiagonalEigenvalues(d, e);
}
