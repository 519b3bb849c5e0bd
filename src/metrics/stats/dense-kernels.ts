// dense float64 kernels on row-major Float64Array storage; everything here is pure and synchronous.

/** which dot-product terms may be skipped because an operand is triangular (zero-filled there). */
export interface DotRowsShape {
  /** dot products for row block i0.. start at index i0 (A's row i is zero before column i). */
  startAtRow?: boolean;
  /** dot products for column block j0.. start at index j0 (B's row j is zero before column j). */
  startAtCol?: boolean;
  /** only blocks touching the upper triangle j >= i are computed (others may be left untouched). */
  upper?: boolean;
  /** only blocks touching the lower triangle j <= i are computed. */
  lower?: boolean;
}

// cache blocking: a kc-long slice of nc rows of B stays in L2 while 4-row slices of A stream by.
const KC = 256;
const NC = 128;

/**
 * C[i, j] += sign * sum_p A[i, p] * B[j, p] for i < m, j < n, p < k ("A times B transposed"),
 * with rows of A at aOff + i*lda, rows of B at bOff + j*ldb and C at cOff + i*ldc + j.
 * a 4x2 register block keeps eight accumulators live; both operands are read along rows (contiguous).
 */
export function dotRows(
  A: Float64Array, aOff: number, lda: number,
  B: Float64Array, bOff: number, ldb: number,
  C: Float64Array, cOff: number, ldc: number,
  m: number, n: number, k: number, sign: 1 | -1, shape: DotRowsShape = {},
): void {
  const startAtRow = shape.startAtRow === true;
  const startAtCol = shape.startAtCol === true;
  const upper = shape.upper === true;
  const lower = shape.lower === true;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const p1 = Math.min(k, p0 + KC);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(n, j0 + NC);
      let i = 0;
      for (; i + 3 < m; i += 4) {
        if (upper && j1 - 1 < i) break;
        if (startAtRow && p1 <= i) break;
        const ia0 = aOff + i * lda;
        const ia1 = ia0 + lda;
        const ia2 = ia1 + lda;
        const ia3 = ia2 + lda;
        let j = j0;
        if (upper && j < i) j = i;
        let jEnd = j1;
        if (lower && jEnd > i + 4) jEnd = i + 4;
        for (; j + 1 < jEnd; j += 2) {
          let ps = p0;
          if (startAtRow && ps < i) ps = i;
          if (startAtCol && ps < j) ps = j;
          if (ps >= p1) continue;
          const jb0 = bOff + j * ldb;
          const jb1 = jb0 + ldb;
          let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
          for (let p = ps; p < p1; p++) {
            const b0 = B[jb0 + p]!;
            const b1 = B[jb1 + p]!;
            const a0 = A[ia0 + p]!;
            c00 += a0 * b0; c01 += a0 * b1;
            const a1 = A[ia1 + p]!;
            c10 += a1 * b0; c11 += a1 * b1;
            const a2 = A[ia2 + p]!;
            c20 += a2 * b0; c21 += a2 * b1;
            const a3 = A[ia3 + p]!;
            c30 += a3 * b0; c31 += a3 * b1;
          }
          const c0 = cOff + i * ldc + j;
          C[c0] = C[c0]! + sign * c00; C[c0 + 1] = C[c0 + 1]! + sign * c01;
          const c1 = c0 + ldc;
          C[c1] = C[c1]! + sign * c10; C[c1 + 1] = C[c1 + 1]! + sign * c11;
          const c2 = c1 + ldc;
          C[c2] = C[c2]! + sign * c20; C[c2 + 1] = C[c2 + 1]! + sign * c21;
          const c3 = c2 + ldc;
          C[c3] = C[c3]! + sign * c30; C[c3 + 1] = C[c3 + 1]! + sign * c31;
        }
        if (j < jEnd) dotRowsScalar(A, aOff, lda, B, bOff, ldb, C, cOff, ldc, i, i + 4, j, j + 1, p0, p1, startAtRow, startAtCol, sign);
      }
      // leftover rows (m not a multiple of 4), or rows skipped by the early breaks above (harmless: only
      // reached when those blocks are outside the requested triangle or past the triangular start)
      if (i < m && !(upper && j1 - 1 < i) && !(startAtRow && p1 <= i)) {
        for (let r = i; r < m; r++) {
          let jStart = j0;
          if (upper && jStart < r) jStart = r;
          let jEnd = j1;
          if (lower && jEnd > r + 1) jEnd = r + 1;
          if (jStart < jEnd) dotRowsScalar(A, aOff, lda, B, bOff, ldb, C, cOff, ldc, r, r + 1, jStart, jEnd, p0, p1, startAtRow, startAtCol, sign);
        }
      }
    }
  }
}

function dotRowsScalar(
  A: Float64Array, aOff: number, lda: number,
  B: Float64Array, bOff: number, ldb: number,
  C: Float64Array, cOff: number, ldc: number,
  i0: number, i1: number, j0: number, j1: number, p0: number, p1: number,
  startAtRow: boolean, startAtCol: boolean, sign: 1 | -1,
): void {
  for (let i = i0; i < i1; i++) {
    const ia = aOff + i * lda;
    for (let j = j0; j < j1; j++) {
      let ps = p0;
      if (startAtRow && ps < i) ps = i;
      if (startAtCol && ps < j) ps = j;
      const jb = bOff + j * ldb;
      let s = 0;
      for (let p = ps; p < p1; p++) s += A[ia + p]! * B[jb + p]!;
      C[cOff + i * ldc + j] = C[cOff + i * ldc + j]! + sign * s;
    }
  }
}

/** copies the upper triangle onto the lower one (n x n, row-major). */
export function mirrorUpper(S: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) S[ri + j] = S[j * n + i]!;
  }
}

/** copies the lower triangle onto the upper one (n x n, row-major). */
export function mirrorLower(S: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) S[j * n + i] = S[ri + j]!;
  }
}

/** rows x cols row-major -> cols x rows row-major, in tiles so both sides stay in cache. */
export function transpose(src: Float64Array, rows: number, cols: number, dst = new Float64Array(rows * cols)): Float64Array {
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j]!;
      }
    }
  }
  return dst;
}
