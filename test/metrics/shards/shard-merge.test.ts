import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FeatureAccumulator } from '../../../src/metrics/stats/feature-accumulator.js';
import { frechetDistance } from '../../../src/metrics/stats/frechet-distance.js';
import { kernelInceptionDistance } from '../../../src/metrics/stats/kernel-inception-distance.js';
import { featureMatrix } from '../../../src/metrics/stats/feature-matrix.js';
import { mergeShards, mergedStatistics, shardBatches, shardRange, type ShardState } from '../../../src/metrics/shards/index.js';

/** rows with a mean far from 0 and correlated columns: where a naive sum-of-squares merge would lose digits */
function features(rows: number, dims: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const out = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const shared = rand();
    for (let j = 0; j < dims; j++) out[r * dims + j] = 50 + 3 * j + shared * (j + 1) + rand();
  }
  return out;
}

/** feeds rows in batches of varying size, as a stream of extractor batches would */
function accumulate(rows: Float32Array, dims: number, batch: number): FeatureAccumulator {
  const acc = new FeatureAccumulator(dims);
  for (let o = 0; o < rows.length; o += batch * dims) acc.add(rows.subarray(o, Math.min(rows.length, o + batch * dims)));
  return acc;
}

function shardStates(rows: Float32Array, dims: number, cuts: readonly number[], batch: number): ShardState[] {
  const n = rows.length / dims;
  const bounds = [0, ...cuts, n];
  return bounds.slice(0, -1).map((start, index) => {
    const end = bounds[index + 1]!;
    const part = rows.slice(start * dims, end * dims);
    const snapshot = end > start ? accumulate(part, dims, batch).snapshot() : { dims: 0, n: 0, mean: new Float64Array(0), m2: new Float64Array(0), sum32: new Float32Array(0) };
    const cosines = Float64Array.from({ length: end - start }, (_, i) => Math.sin(start + i));
    return { index, shards: bounds.length - 1, start, end, files: Array.from({ length: end - start }, (_, i) => `${start + i}.png`), extractor: 'e', resolution: 32, mode: 'clean', snapshot, features: end > start ? part : new Float32Array(0), cosines, clip: 'c' };
  });
}

/** |a - b| <= tol * max|b|, element by element: relative to the array's scale, as a covariance's zeros are */
function assertClose(a: Float64Array, b: Float64Array, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > tol * scale) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]} (relative ${Math.abs(a[i]! - b[i]!) / scale})`);
  }
}

test('merged shards give the statistics of one stream for any split, uneven and empty shards included', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 700 }),
      fc.integer({ min: 1, max: 24 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 7 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer(),
      (n, dims, fractions, oneBatch, shardBatch, seed) => {
        const rows = features(n, dims, seed);
        // cut points anywhere in [0, n], repeats allowed: repeats and the ends make empty shards
        const cuts = fractions.map((f) => Math.floor(f * n)).sort((a, b) => a - b);
        const merged = mergeShards(shardStates(rows, dims, cuts, shardBatch).reverse());
        const one = accumulate(rows, dims, oneBatch);
        for (const mean of ['float64', 'float32'] as const) {
          const a = mergedStatistics(merged, { mean });
          const b = one.finalize({ mean });
          assert.equal(a.n, n);
          assertClose(a.mu, b.mu, 1e-12, `mu (${mean})`);
          assertClose(a.sigma, b.sigma, 1e-12, `sigma (${mean})`);
          // the float32 mean is clean-fid's sequential float32 sum: the merge redoes it over the rows in order
          if (mean === 'float32') assert.deepEqual(a.mu, b.mu);
        }
        assert.deepEqual(merged.features.data, rows);
        assert.deepEqual(merged.cosines, Float64Array.from({ length: n }, (_, i) => Math.sin(i)));
        assert.deepEqual(merged.files, Array.from({ length: n }, (_, i) => `${i}.png`));
      },
    ),
    { numRuns: 60 },
  );
});

test('FID from merged shards equals the one-stream FID to 1e-12 of its terms; KID is computed from the same rows', () => {
  const dims = 16;
  const rows = features(900, dims, 7);
  const ref = features(500, dims, 8);
  const refStats = accumulate(ref, dims, 64).finalize();
  const oneStats = accumulate(rows, dims, 50).finalize();
  const one = frechetDistance(refStats, oneStats).distance;
  // FID is a small difference of large terms (|mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2)): an error of 1e-16
  // in the statistics is amplified by their size over FID's, so the bound is relative to the terms, not to FID
  let terms = 0;
  for (let i = 0; i < dims; i++) terms += refStats.sigma[i * dims + i]! + oneStats.sigma[i * dims + i]! + (refStats.mu[i]! - oneStats.mu[i]!) ** 2;
  for (const cuts of [[450], [0, 0, 300], [1, 2, 899, 900], [100, 256, 512, 513, 700]]) {
    const merged = mergeShards(shardStates(rows, dims, cuts, 37));
    const fid = frechetDistance(refStats, mergedStatistics(merged)).distance;
    assert.ok(Math.abs(fid - one) <= 1e-12 * terms, `cuts ${cuts}: ${fid} vs ${one} (terms ${terms})`);
    const kid = (m: Float32Array): number => kernelInceptionDistance(featureMatrix(m, dims), featureMatrix(ref, dims), { subsets: 3, subsetSize: 100 }).mean;
    assert.equal(kid(merged.features.data as Float32Array), kid(rows));
  }
});

test('shard ranges tile the items, sizes differ by at most one, extra shards are empty', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 64 }), (total, shards) => {
      let end = 0;
      const sizes: number[] = [];
      for (let i = 0; i < shards; i++) {
        const r = shardRange(total, shards, i);
        assert.equal(r.start, end);
        sizes.push(r.end - r.start);
        end = r.end;
      }
      assert.equal(end, total);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }),
  );
  assert.throws(() => shardRange(10, 2, 2), /shard 2 does not exist/);
});

test('a merge refuses gaps, overlaps, missing shards and mixed extractors, naming the shard', () => {
  const rows = features(10, 3, 1);
  const states = shardStates(rows, 3, [4, 7], 2);
  assert.throws(() => mergeShards([states[0]!, states[2]!]), /shard 2 of 3 found where shard 1 of 3 belongs/);
  assert.throws(() => mergeShards([states[0]!, { ...states[1]!, start: 5 }, states[2]!]), /shard 1 starts at image 5, the previous shard ended at 4/);
  assert.throws(() => mergeShards([states[0]!, states[1]!, { ...states[2]!, extractor: 'other' }]), /shard 2 was extracted with other/);
  assert.throws(() => mergeShards(states.slice(0, 2)), /2 shard states for 3 shards/);
});

test('CLIP-only shards (no extractor, no feature rows) merge their cosines in index order; a shard with rows among them is refused', () => {
  const clipOnly = (index: number, start: number, end: number, shards: number): ShardState => ({
    index, shards, start, end, files: Array.from({ length: end - start }, (_, i) => `${start + i}.png`), extractor: '', resolution: 0, mode: 'clean',
    snapshot: { dims: 0, n: 0, mean: new Float64Array(0), m2: new Float64Array(0), sum32: new Float32Array(0) }, features: new Float32Array(0),
    cosines: Float64Array.from({ length: end - start }, (_, i) => Math.cos(start + i)), clip: end > start ? 'c' : '',
  });
  const merged = mergeShards([clipOnly(2, 7, 7, 4), clipOnly(0, 0, 4, 4), clipOnly(3, 7, 10, 4), clipOnly(1, 4, 7, 4)]);
  assert.equal(merged.n, 10);
  assert.equal(merged.features.rows, 0);
  assert.deepEqual([...merged.cosines!], Array.from({ length: 10 }, (_, i) => Math.cos(i)));
  assert.deepEqual(merged.files, Array.from({ length: 10 }, (_, i) => `${i}.png`));
  const withRows = shardStates(features(3, 2, 1), 2, [], 1)[0]!;
  assert.throws(() => mergeShards([clipOnly(0, 0, 4, 2), { ...withRows, index: 1, shards: 2, start: 4, end: 7, files: ['4.png', '5.png', '6.png'] }]), /shard 1 was extracted with e\/clean/);
  // a featureless shard claiming rows
  assert.throws(() => mergeShards([{ ...clipOnly(0, 0, 3, 1), snapshot: withRows.snapshot }]), /shard 0 holds 3 rows for images 0\.\.3/);
});

test('shardBatches: whole batches, contiguous, every image once; batch counts differ by at most one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), (total, batch, shards) => {
      let end = 0;
      const sizes: number[] = [];
      for (let i = 0; i < shards; i++) {
        const r = shardBatches(total, batch, shards, i);
        assert.equal(r.start, end);
        assert.ok(r.start % batch === 0 || r.start === total, `shard ${i} starts inside a batch: ${r.start}`);
        sizes.push(r.end - r.start);
        end = r.end;
      }
      assert.equal(end, total);
      const batches = sizes.map((s) => Math.ceil(s / batch));
      assert.ok(Math.max(...batches) - Math.min(...batches) <= 1, `batches per shard ${batches.join(',')}`);
    }),
  );
});
