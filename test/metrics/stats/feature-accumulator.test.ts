import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import {
  FeatureAccumulator,
  featureStats,
  encodeSnapshotNpz,
  decodeSnapshotNpz,
} from '../../../src/metrics/stats/index.js';
import { expectedArray, goldenFeatures, maxScaledErr } from './golden-fixtures.js';

test('mean and covariance equal np.mean / np.cov(rowvar=False) on numpy-written float32 features', () => {
  for (const name of ['a', 'b'] as const) {
    const f = goldenFeatures(name);
    const s = featureStats(f.data, f.dims);
    assert.equal(s.n, 200);
    // measured: ~2e-16 (mu) and ~1e-15 (sigma), relative to the largest entry
    assert.ok(maxScaledErr(s.mu, expectedArray(`mu_${name}`)) < 1e-13, `mu_${name}`);
    assert.ok(maxScaledErr(s.sigma, expectedArray(`sigma_${name}`)) < 1e-13, `sigma_${name}`);
  }
});

test('batching and sharding do not change the statistics beyond rounding', () => {
  const f = goldenFeatures('a');
  const d = f.dims;
  const whole = featureStats(f.data, d);
  const oneByOne = new FeatureAccumulator(d);
  for (let r = 0; r < f.rows; r++) oneByOne.add(f.data.subarray(r * d, (r + 1) * d));
  const shardA = new FeatureAccumulator(d).add(f.data.subarray(0, 37 * d));
  const shardB = new FeatureAccumulator(d).add(f.data.subarray(37 * d, 150 * d));
  const shardC = new FeatureAccumulator(d).add(f.data.subarray(150 * d));
  // shard state travels as an .npz snapshot, as it would between processes
  const merged = shardA.merge(decodeSnapshotNpz(encodeSnapshotNpz(shardB.snapshot()))).merge(shardC);
  for (const other of [oneByOne.finalize(), merged.finalize()]) {
    assert.equal(other.n, whole.n);
    assert.ok(maxScaledErr(other.mu, whole.mu) < 1e-14);
    assert.ok(maxScaledErr(other.sigma, whole.sigma) < 1e-13);
  }
  // merging an empty accumulator is a no-op, merging into an empty one copies
  const empty = new FeatureAccumulator(d);
  assert.deepEqual(empty.merge(shardC).finalize().sigma, shardC.finalize().sigma);
});

test('clean-fid float32 mean is reproduced exactly (numpy adds rows sequentially in float32)', () => {
  const f = goldenFeatures('a');
  const s = featureStats(f.data, f.dims, { mean: 'float32' });
  assert.deepEqual(Array.from(s.mu), Array.from(expectedArray('mu_a32')));
});

test('finalize is non-destructive and the accumulator keeps going', () => {
  const f = goldenFeatures('b');
  const acc = new FeatureAccumulator(f.dims).add(f.data.subarray(0, 100 * f.dims));
  const first = acc.finalize();
  acc.add(f.data.subarray(100 * f.dims));
  assert.equal(first.n, 100);
  assert.ok(maxScaledErr(acc.finalize().sigma, expectedArray('sigma_b')) < 1e-13);
});

test('bad input: too few samples, non-finite rows, mismatched dims', () => {
  const acc = new FeatureAccumulator(3).add(Float32Array.of(1, 2, 3));
  assert.throws(() => acc.finalize(), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_TOO_FEW_SAMPLES' && /at least 2 samples, got 1/.test(e.message));
  assert.throws(
    () => acc.add(Float32Array.of(1, 2, 3, 4, NaN, 6)),
    (e: unknown) => e instanceof BadInputError && e.code === 'STATS_NON_FINITE' && /row 2 /.test(e.message) && /dim 1/.test(e.message),
  );
  assert.equal(acc.count, 1, 'a rejected batch adds nothing');
  assert.throws(() => acc.add(new Float32Array(4)), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_DIMS_MISMATCH');
  assert.throws(() => acc.merge(new FeatureAccumulator(4)), (e: unknown) => e instanceof BadInputError && /3 vs 4/.test(e.message));
  assert.throws(() => new FeatureAccumulator(0), BadInputError);
});

test('two samples give the textbook covariance', () => {
  const s = featureStats(Float64Array.of(1, 2, 3, 6), 2);
  assert.deepEqual(Array.from(s.mu), [2, 4]);
  assert.deepEqual(Array.from(s.sigma), [2, 4, 4, 8]);
});
