import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import { featureStats, frechetDistance, type FeatureMatrix } from '../../../src/metrics/stats/index.js';
import { assertClose, golden, goldenFeatures } from './golden-fixtures.js';

interface PytorchFid { fid: number; trace_sqrt: number; retried: boolean }
interface FidGolden { pytorch_fid: PytorchFid; clean_fid?: number; svd_reference: number; svd_trace_sqrt?: number; offset_1e_6?: number }

const statsOf = (f: FeatureMatrix, mean: 'float64' | 'float32' = 'float64') => featureStats(f.data, f.dims, { mean });

function zeroDims(f: FeatureMatrix, from: number, to: number): FeatureMatrix {
  const data = Float32Array.from(f.data);
  for (let r = 0; r < f.rows; r++) data.fill(0, r * f.dims + from, r * f.dims + to);
  return { data, rows: f.rows, dims: f.dims };
}

test('full-rank covariances: equal to pytorch-fid (scipy sqrtm) and to an SVD reference', () => {
  const g = golden<FidGolden>('fid_ab');
  const r = frechetDistance(statsOf(goldenFeatures('a')), statsOf(goldenFeatures('b')));
  assert.equal(r.singular, false);
  assert.equal(r.rank1, 64);
  // measured: ~1e-15 relative to both
  assertClose(r.distance, g.pytorch_fid.fid, 1e-12, 'vs pytorch-fid');
  assertClose(r.distance, g.svd_reference, 1e-12, 'vs svd reference');
  assertClose(r.traceSqrt, g.pytorch_fid.trace_sqrt, 1e-12, 'trace sqrt');
});

test("clean-fid's number: float32 mean + the same trace term", () => {
  const g = golden<FidGolden>('fid_ab');
  const r = frechetDistance(statsOf(goldenFeatures('a'), 'float32'), statsOf(goldenFeatures('b'), 'float32'));
  // clean-fid also forms mu1 - mu2 and its dot product in float32 (BLAS sdot, summation order unknown), which
  // we do not mimic: measured 2.2e-9 relative
  assertClose(r.distance, g.clean_fid!, 1e-8, 'vs clean-fid');
  // with float64 means we land on pytorch-fid's number instead, ~4e-10 from clean-fid's
  const r64 = frechetDistance(statsOf(goldenFeatures('a')), statsOf(goldenFeatures('b')));
  assert.ok(Math.abs(r.distance - r64.distance) > 1e-10, 'the float32 mean changes the value');
});

test('singular covariances (N=40 < 64 dims): exact value, and how far scipy sqrtm is from it', () => {
  const g = golden<FidGolden>('fid_cd');
  const r = frechetDistance(statsOf(goldenFeatures('c')), statsOf(goldenFeatures('d')));
  assert.equal(r.singular, true);
  assert.equal(r.rank1, 39);
  // measured: 3e-15 relative to the SVD reference (which needs no matrix square root)
  assertClose(r.distance, g.svd_reference, 1e-12, 'vs svd reference');
  // scipy's sqrtm of the rank-39 product adds sqrt of rounding-level eigenvalues: pytorch-fid is 2.2e-8 off
  assertClose(r.distance, g.pytorch_fid.fid, 1e-7, 'vs pytorch-fid');
  assert.equal(g.pytorch_fid.retried, false);
});

test("pytorch-fid's eps retry: reproduced with offset 'always' / 'if-singular'; 'never' gives the exact value", () => {
  const g = golden<FidGolden & Record<string, number>>('fid_eps_retry');
  assert.equal(g.pytorch_fid.retried, true, 'the golden case triggers the retry in scipy');
  const a = statsOf(zeroDims(goldenFeatures('a'), 0, 3));
  const b = statsOf(zeroDims(goldenFeatures('b'), 3, 6));
  const exact = frechetDistance(a, b);
  assert.equal(exact.singular, true);
  assert.equal(exact.offsetApplied, false);
  assertClose(exact.distance, g.svd_reference, 1e-12, 'exact vs svd reference');
  for (const offset of ['always', 'if-singular'] as const) {
    const r = frechetDistance(a, b, { offset });
    assert.equal(r.offsetApplied, true);
    // measured: ~2e-15 (the offset makes the matrices well conditioned for sqrtm too)
    assertClose(r.distance, g.pytorch_fid.fid, 1e-11, `offset ${offset} vs pytorch-fid retry`);
  }
  // the offset shifts the value by 4e-4 relative here: it is a different number, not a refinement
  assert.ok(Math.abs(exact.distance - g.pytorch_fid.fid) > 1e-3);
});

test("'if-singular' leaves full-rank inputs alone; the offset differs from pytorch-fid where scipy did not retry", () => {
  const full = frechetDistance(statsOf(goldenFeatures('a')), statsOf(goldenFeatures('b')), { offset: 'if-singular' });
  assert.equal(full.offsetApplied, false);
  const g = golden<Record<string, number>>('fid_cd');
  const r = frechetDistance(statsOf(goldenFeatures('c')), statsOf(goldenFeatures('d')), { offset: 'if-singular' });
  assert.equal(r.offsetApplied, true);
  assertClose(r.distance, g['offset_1e-6']!, 1e-9, 'offset formula');
});

test('identical statistics give 0 (up to rounding), and the distance is symmetric', () => {
  const a = statsOf(goldenFeatures('a'));
  const b = statsOf(goldenFeatures('b'));
  assert.ok(Math.abs(frechetDistance(a, a).distance) < 1e-12);
  assertClose(frechetDistance(b, a).distance, frechetDistance(a, b).distance, 1e-12, 'symmetry');
  // all-constant features: zero covariance, distance is the squared mean difference
  const z = { mu: Float64Array.of(1, 2), sigma: new Float64Array(4) };
  const w = { mu: Float64Array.of(0, 0), sigma: new Float64Array(4) };
  assert.equal(frechetDistance(z, w).distance, 5);
});

test('bad input: mismatched dims, non-finite statistics, wrong sigma size', () => {
  const a = { mu: new Float64Array(3), sigma: new Float64Array(9) };
  const b = { mu: new Float64Array(4), sigma: new Float64Array(16) };
  assert.throws(() => frechetDistance(a, b), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_DIMS_MISMATCH' && /3 vs 4/.test(e.message));
  assert.throws(() => frechetDistance(a, { mu: new Float64Array(3), sigma: new Float64Array(8) }), BadInputError);
  const nan = { mu: new Float64Array(3), sigma: Float64Array.of(1, 0, 0, 0, NaN, 0, 0, 0, 1) };
  assert.throws(() => frechetDistance(a, nan), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_NON_FINITE' && /row 1/.test(e.message));
});
