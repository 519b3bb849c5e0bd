// KID with each kernel value computed once is KID: the same subset values, mean and std bit for bit as
// metrics/stats' per-subset form, on every path (all-pairs tables, per-subset fallback, memoised reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelInceptionDistanceOnce, type KidReferenceMemo } from '../../../src/metrics/evaluation/index.js';
import { featureMatrix, kernelInceptionDistance, type FeatureMatrix } from '../../../src/metrics/stats/index.js';

/** rows of ReLU'd uniform values (an xorshift32 stream), float32 as the extractors give them */
function features(rows: number, dims: number, seed: number, scale = 1): FeatureMatrix {
  let x = (seed * 2654435761) >>> 0 || 1;
  const data = new Float32Array(rows * dims);
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    data[i] = Math.max(0, (x / 2 ** 32 - 0.3) * scale);
  }
  return featureMatrix(data, dims);
}

const same = (got: ReturnType<typeof kernelInceptionDistance>, want: ReturnType<typeof kernelInceptionDistance>, what: string): void => {
  assert.deepEqual(Array.from(got.values), Array.from(want.values), what);
  assert.equal(got.mean, want.mean, what);
  assert.equal(got.std, want.std, what);
  assert.equal(got.subsetSize, want.subsetSize, what);
};

test('KID from all-pairs tables equals the per-subset form bit for bit (generated 60 rows, reference 300, m = 50)', () => {
  const fake = features(60, 16, 1);
  const real = features(300, 16, 2, 1.5);
  for (const seed of [2020, 7]) {
    const options = { subsets: 40, subsetSize: 50, seed };
    same(kernelInceptionDistanceOnce(fake, real, options), kernelInceptionDistance(fake, real, options), `seed ${seed}`);
  }
  // sides swapped: the larger set first
  same(kernelInceptionDistanceOnce(real, fake, { subsets: 5, subsetSize: 40 }), kernelInceptionDistance(real, fake, { subsets: 5, subsetSize: 40 }), 'swapped');
});

test('KID equals the per-subset form when features are longer than a cache block (d = 300) and subsets odd-sized', () => {
  const fake = features(33, 300, 3);
  const real = features(45, 300, 4);
  const options = { subsets: 4, subsetSize: 31, seed: 11 };
  same(kernelInceptionDistanceOnce(fake, real, options), kernelInceptionDistance(fake, real, options), 'd 300');
});

test('KID takes the per-subset form where an all-pairs table would cost more (one small subset of a large set), same numbers', () => {
  const fake = features(40, 8, 5);
  const real = features(2100, 8, 6);
  const options = { subsets: 2, subsetSize: 10, seed: 1 };
  same(kernelInceptionDistanceOnce(fake, real, options), kernelInceptionDistance(fake, real, options), 'per-subset');
});

test("the reference side's self terms come from the memo when present and are stored there when not", () => {
  const real = features(200, 16, 8);
  const store = new Map<string, Float64Array>();
  let gets = 0;
  const memo: KidReferenceMemo = { get: (k) => (gets++, store.get(k)), set: (k, v) => void store.set(k, v) };
  const options = { subsets: 6, subsetSize: 40, seed: 3, referenceMemo: memo };
  const first = kernelInceptionDistanceOnce(features(50, 16, 9), real, options);
  assert.equal(store.size, 1);
  same(first, kernelInceptionDistance(features(50, 16, 9), real, options), 'first cell');
  // another generated set against the same reference: served from the memo, still the direct form's numbers
  const other = features(50, 16, 10);
  same(kernelInceptionDistanceOnce(other, real, options), kernelInceptionDistance(other, real, options), 'second cell');
  assert.equal(gets, 2);
  assert.equal(store.size, 1);
  // a changed reference or seed is another key
  kernelInceptionDistanceOnce(other, features(200, 16, 12), options);
  kernelInceptionDistanceOnce(other, real, { ...options, seed: 4 });
  assert.equal(store.size, 3);
  // a wrong memo entry would change the result: the memo is really read
  const [key] = [...store.keys()];
  store.set(key!, new Float64Array(6).fill(1e6));
  assert.notEqual(kernelInceptionDistanceOnce(features(50, 16, 9), real, options).mean, first.mean);
});
