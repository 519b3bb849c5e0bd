import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dotRows, transpose } from '../../../src/metrics/stats/dense-kernels.js';
import { blockedCholesky, pivotedCholesky } from '../../../src/metrics/stats/cholesky.js';
import { symmetricEigenvalues } from '../../../src/metrics/stats/symmetric-eigenvalues.js';
import { traceSqrtProduct } from '../../../src/metrics/stats/frechet-distance.js';

// small deterministic generator for test matrices (xorshift; no need for numpy's stream here)
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: rows * cols }, () => r());
}

// Q diag(lambda) Q^T with Q from modified gram-schmidt
function withSpectrum(lambda: number[], seed: number): Float64Array {
  const n = lambda.length;
  const Q = randomMatrix(n, n, seed);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += Q[i * n + k]! * Q[j * n + k]!;
      for (let k = 0; k < n; k++) Q[i * n + k] = Q[i * n + k]! - dot * Q[j * n + k]!;
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += Q[i * n + k]! ** 2;
    for (let k = 0; k < n; k++) Q[i * n + k] = Q[i * n + k]! / Math.sqrt(norm);
  }
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += Q[k * n + i]! * lambda[k]! * Q[k * n + j]!;
    S[i * n + j] = s;
  }
  return S;
}

test('dotRows matches a naive product for odd shapes, both signs and every triangle option', () => {
  const m = 11, n = 9, k = 300;
  const A = randomMatrix(m, k, 1);
  const B = randomMatrix(n, k, 2);
  const naive = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += A[i * k + p]! * B[j * k + p]!;
    naive[i * n + j] = s;
  }
  const C = new Float64Array(m * n).fill(1);
  dotRows(A, 0, k, B, 0, k, C, 0, n, m, n, k, -1);
  for (let i = 0; i < m * n; i++) assert.ok(Math.abs(C[i]! - (1 - naive[i]!)) < 1e-12);
  for (const shape of [{ upper: true }, { lower: true }]) {
    const T = new Float64Array(m * n);
    dotRows(A, 0, k, B, 0, k, T, 0, n, m, n, k, 1, shape);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      if ((shape.upper === true && j >= i) || (shape.lower === true && j <= i)) assert.ok(Math.abs(T[i * n + j]! - naive[i * n + j]!) < 1e-12, `${JSON.stringify(shape)} ${i},${j}`);
    }
  }
  // triangular operands: start-at-row with an upper-triangular A gives the same as the full product
  const U = randomMatrix(m, k, 3);
  for (let i = 0; i < m; i++) U.fill(0, i * k, i * k + i);
  const full = new Float64Array(m * n);
  const tri = new Float64Array(m * n);
  dotRows(U, 0, k, B, 0, k, full, 0, n, m, n, k, 1);
  dotRows(U, 0, k, B, 0, k, tri, 0, n, m, n, k, 1, { startAtRow: true });
  for (let i = 0; i < m * n; i++) assert.ok(Math.abs(full[i]! - tri[i]!) < 1e-12);
  assert.deepEqual(Array.from(transpose(transpose(A, m, k), k, m)), Array.from(A));
});

test('blocked and pivoted cholesky reproduce the matrix; pivoting finds the rank', () => {
  const n = 150; // crosses the 64-wide panels
  const X = randomMatrix(n + 20, n, 4);
  const S = new Float64Array(n * n);
  const XT = transpose(X, n + 20, n);
  dotRows(XT, 0, n + 20, XT, 0, n + 20, S, 0, n, n, n, n + 20, 1);
  for (const f of [blockedCholesky(S, n)!, pivotedCholesky(S, n)]) {
    assert.equal(f.rank, n);
    let err = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += f.L[i * n + k]! * f.L[j * n + k]!;
      err = Math.max(err, Math.abs(s - S[f.perm[i]! * n + f.perm[j]!]!));
    }
    assert.ok(err < 1e-10, `reconstruction error ${err}`);
  }
  // rank 30: blocked refuses, pivoted stops at 30
  const Y = randomMatrix(30, n, 5);
  const YT = transpose(Y, 30, n);
  const R = new Float64Array(n * n);
  dotRows(YT, 0, 30, YT, 0, 30, R, 0, n, n, n, 30, 1);
  assert.equal(blockedCholesky(R, n), null);
  assert.equal(pivotedCholesky(R, n).rank, 30);
});

test('symmetric eigenvalues of matrices with a known spectrum', () => {
  const lambda = Array.from({ length: 70 }, (_, i) => (i % 7 === 0 ? 0 : (i - 30) * 0.37));
  const got = symmetricEigenvalues(withSpectrum(lambda, 6), 70);
  const want = [...lambda].sort((x, y) => x - y);
  for (let i = 0; i < 70; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-12, `eigenvalue ${i}: ${got[i]} vs ${want[i]}`);
  // tiny cases and a diagonal matrix (nothing to reduce)
  assert.deepEqual(Array.from(symmetricEigenvalues(Float64Array.of(5), 1)), [5]);
  assert.deepEqual(Array.from(symmetricEigenvalues(Float64Array.of(2, 0, 0, 0, -1, 0, 0, 0, 3), 3)), [-1, 2, 3]);
  const two = symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2);
  assert.ok(Math.abs(two[0]! - 1) < 1e-15 && Math.abs(two[1]! - 3) < 1e-15);
});

test('trace sqrt of a product with known eigenvalues (commuting case)', () => {
  // S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T -> tr sqrt(S1 S2) = sum sqrt(a_i b_i)
  const a = Array.from({ length: 40 }, (_, i) => 0.1 + i);
  const b = Array.from({ length: 40 }, (_, i) => (i < 10 ? 0 : 2 + 0.5 * i));
  const r = traceSqrtProduct(withSpectrum(a, 7), withSpectrum(b, 7), 40);
  const want = a.reduce((s, ai, i) => s + Math.sqrt(ai * b[i]!), 0);
  assert.ok(Math.abs(r.traceSqrt - want) / want < 1e-12, `${r.traceSqrt} vs ${want}`);
  assert.equal(r.singular, true);
});
