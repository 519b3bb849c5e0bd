import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { VsdlabError } from '../../../src/errors.js';
import {
  featureStats,
  frechetBackend,
  frechetDistance,
  traceSqrtProduct,
  type FeatureStats,
  type FrechetOptions,
  type GaussianStats,
} from '../../../src/metrics/stats/index.js';
import { fromRoot } from '../../helpers/paths.js';
import { assertClose, golden, goldenFeatures, relErr } from './golden-fixtures.js';

const addonFile = fromRoot('native', 'lapack', 'build', 'Release', 'vsdlab_lapack.node');
const forcedJs = process.env.VSDLAB_FRECHET_BACKEND === 'js';
const backend = frechetBackend();
const native = backend.backend === 'native-lapack';
const skipNative = native ? false : `native LAPACK addon not in use (${backend.detail}); only the js path is tested`;

// deterministic features: xorshift uniforms, a shared low-rank structure plus noise, relu (like pool_3)
function features(rows: number, dims: number, seed: number, shift: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296 - 0.5;
  };
  const rank = 16;
  const basis = Float64Array.from({ length: rank * dims }, () => Math.sin(1 + s++ % 977));
  const out = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: rank }, u);
    for (let j = 0; j < dims; j++) {
      let v = shift + 0.3 * u();
      for (let k = 0; k < rank; k++) v += z[k]! * basis[k * dims + j]!;
      out[r * dims + j] = Math.max(v, 0);
    }
  }
  return out;
}

const statsOf = (rows: number, dims: number, seed: number, shift: number): FeatureStats => featureStats(features(rows, dims, seed, shift), dims);

// the terms outside the trace square root are shared code: equal bit for bit. the trace square root differs by
// rounding, which grows with the conditioning of sigma1 (measured: 2e-16 on the 64-d goldens, 1e-12 on the
// 300-d statistics below, 1e-11 / 9e-11 once a 1e-6 offset makes a singular sigma1 invertible)
function bothPaths(a: GaussianStats, b: GaussianStats, options: FrechetOptions = {}, rel = 1e-10): void {
  const js = frechetDistance(a, b, { ...options, backend: 'js' });
  const nat = frechetDistance(a, b, { ...options, backend: 'native' });
  assert.equal(js.backend, 'js');
  assert.equal(nat.backend, 'native-lapack');
  assert.equal(nat.rank1, js.rank1, 'rank of sigma1');
  assert.equal(nat.singular, js.singular, 'singular flag');
  assert.equal(nat.offsetApplied, js.offsetApplied, 'offset applied');
  assert.deepEqual([nat.meanTerm, nat.trace1, nat.trace2], [js.meanTerm, js.trace1, js.trace2]);
  assertClose(nat.traceSqrt, js.traceSqrt, rel, 'trace sqrt, native vs js');
  // the distance differs by -2 x that (the traces can cancel most of it, so not relative to the distance)
  const bound = 2 * rel * js.traceSqrt + 4 * Number.EPSILON * (js.trace1 + js.trace2 + js.meanTerm);
  assert.ok(Math.abs(nat.distance - js.distance) <= bound, `distance, native ${nat.distance} vs js ${js.distance}`);
}

test('frechetBackend reports the path in use; a built addon that does not load is a failure, not a silent fallback', () => {
  assert.ok(backend.detail.length > 0);
  if (forcedJs) assert.equal(backend.backend, 'js');
  else if (existsSync(addonFile)) assert.equal(backend.backend, 'native-lapack', `the addon is built but not used: ${backend.detail}`);
  else assert.equal(backend.backend, 'js');
  if (native) assert.match(backend.detail, /OpenBLAS/);
});

test('the js path always gives the golden values, whatever is built', () => {
  const g = golden<{ pytorch_fid: { fid: number }; svd_reference: number }>('fid_ab');
  const a = featureStats(goldenFeatures('a').data, 64);
  const b = featureStats(goldenFeatures('b').data, 64);
  const r = frechetDistance(a, b, { backend: 'js' });
  assert.equal(r.backend, 'js');
  assertClose(r.distance, g.pytorch_fid.fid, 1e-12, 'js vs pytorch-fid');
  const cd = golden<{ svd_reference: number }>('fid_cd');
  const s = frechetDistance(featureStats(goldenFeatures('c').data, 64), featureStats(goldenFeatures('d').data, 64), { backend: 'js' });
  assert.equal(s.rank1, 39);
  assertClose(s.distance, cd.svd_reference, 1e-12, 'js singular vs svd reference');
  assert.equal(traceSqrtProduct(Float64Array.of(4, 0, 0, 1), Float64Array.of(1, 0, 0, 9), 2, 'js').traceSqrt, 5);
});

test('without the addon: auto takes the js path and a required native backend is an error (child process)', () => {
  const url = pathToFileURL(fromRoot('dist', 'src', 'metrics', 'stats', 'index.js')).href;
  const script = `
    import { frechetBackend, frechetDistance } from ${JSON.stringify(url)};
    const s = { mu: Float64Array.of(0, 1), sigma: Float64Array.of(2, 1, 1, 2) };
    const auto = frechetDistance(s, s);
    let code = 'none';
    try { frechetDistance(s, s, { backend: 'native' }); } catch (e) { code = e.code; }
    console.log(JSON.stringify({ info: frechetBackend(), auto: auto.backend, distance: auto.distance, code }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, VSDLAB_FRECHET_BACKEND: 'js' } });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as { info: { backend: string; detail: string }; auto: string; distance: number; code: string };
  assert.deepEqual(out.info, { backend: 'js', detail: 'VSDLAB_FRECHET_BACKEND=js' });
  assert.equal(out.auto, 'js');
  assert.ok(Math.abs(out.distance) < 1e-14);
  assert.equal(out.code, 'FRECHET_NATIVE_UNAVAILABLE');
  if (!native) assert.throws(() => frechetDistance(featureStats(goldenFeatures('a').data, 64), featureStats(goldenFeatures('b').data, 64), { backend: 'native' }), (e: unknown) => e instanceof VsdlabError && e.code === 'FRECHET_NATIVE_UNAVAILABLE');
});

test('native = js on the goldens: full rank, singular (pivoted), eps retry, float32 statistics', { skip: skipNative }, () => {
  const a = featureStats(goldenFeatures('a').data, 64);
  const b = featureStats(goldenFeatures('b').data, 64);
  bothPaths(a, b, {}, 1e-14);
  assert.equal(frechetDistance(a, b).backend, 'native-lapack', 'auto picks the native path');
  const g = golden<{ pytorch_fid: { fid: number } }>('fid_ab');
  assertClose(frechetDistance(a, b, { backend: 'native' }).distance, g.pytorch_fid.fid, 1e-12, 'native vs pytorch-fid');
  const c = featureStats(goldenFeatures('c').data, 64);
  const d = featureStats(goldenFeatures('d').data, 64);
  bothPaths(c, d, {}, 1e-13);
  assert.equal(frechetDistance(c, d, { backend: 'native' }).rank1, 39);
  for (const offset of ['always', 'if-singular', 'never'] as const) bothPaths(c, d, { offset });
  bothPaths(featureStats(goldenFeatures('a').data, 64, { mean: 'float32' }), featureStats(goldenFeatures('b').data, 64, { mean: 'float32' }));
  const f32 = (s: FeatureStats): GaussianStats => ({ mu: Float32Array.from(s.mu), sigma: Float32Array.from(s.sigma) });
  bothPaths(f32(a), f32(b));
});

test('native = js on 300-d statistics, full rank and rank-deficient, and on degenerate inputs', { skip: skipNative }, () => {
  const full1 = statsOf(700, 300, 11, 0);
  const full2 = statsOf(700, 300, 12, 0.1);
  bothPaths(full1, full2);
  bothPaths(full2, full1);
  const low1 = statsOf(120, 300, 13, 0);
  const low2 = statsOf(150, 300, 14, 0.2);
  bothPaths(low1, low2);
  bothPaths(full1, low2);
  bothPaths(low1, full2, { offset: 'if-singular' }, 1e-9);
  // zero and rank-1 covariances, an indefinite sigma1 (rounding-negative direction), an asymmetric sigma
  const z = { mu: Float64Array.of(1, 2, 3), sigma: new Float64Array(9) };
  const w = { mu: Float64Array.of(0, 0, 0), sigma: Float64Array.of(1, 2, 0, 2, 4, 0, 0, 0, 1) };
  bothPaths(z, w);
  bothPaths(w, z);
  bothPaths(w, w);
  assert.equal(frechetDistance(z, w, { backend: 'native' }).distance, 14 + 6);
  const indefinite = { mu: new Float64Array(3), sigma: Float64Array.of(2, 0, 0, 0, -1e-3, 0, 0, 0, 1) };
  bothPaths(indefinite, w);
  const asymmetric = { mu: new Float64Array(3), sigma: Float64Array.of(2, 0.3, 0, 0.1, 1, 0, 0, 0, 1) };
  bothPaths(asymmetric, w);
  bothPaths(w, asymmetric);
  // traceSqrtProduct: the same on both paths
  const t1 = traceSqrtProduct(Float64Array.from(full1.sigma), Float64Array.from(low2.sigma), 300, 'native');
  const t2 = traceSqrtProduct(Float64Array.from(full1.sigma), Float64Array.from(low2.sigma), 300, 'js');
  assert.equal(t1.backend, 'native-lapack');
  assert.equal(t1.rank1, t2.rank1);
  assertClose(t1.traceSqrt, t2.traceSqrt, 1e-12, 'traceSqrtProduct');
});
