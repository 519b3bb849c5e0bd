import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import { NumpyRandomState, kernelInceptionDistance } from '../../../src/metrics/stats/index.js';
import { assertClose, golden, goldenFeatures } from './golden-fixtures.js';

interface KidGolden { mean: number; std: number; values: number[]; m: number }

test('NumpyRandomState reproduces RandomState(seed).choice(n, m, replace=False) and permutation', () => {
  const draws = golden<Record<string, number[]>>('random_state_choice');
  for (const [key, want] of Object.entries(draws)) {
    const [seed, n, m] = key.split(':').map(Number) as [number, number, number];
    assert.deepEqual(Array.from(new NumpyRandomState(seed).choiceWithoutReplacement(n, m)), want, key);
  }
  assert.deepEqual(Array.from(new NumpyRandomState(2020).permutation(200)), golden<number[]>('random_state_permutation_2020_200'));
  assert.throws(() => new NumpyRandomState(-1), BadInputError);
  assert.throws(() => new NumpyRandomState(2 ** 32), BadInputError);
  assert.throws(() => new NumpyRandomState(1).choiceWithoutReplacement(3, 4), BadInputError);
});

test('KID equals torch-fidelity-style numpy (RandomState draws, float64) subset by subset', () => {
  const a = goldenFeatures('a');
  const b = goldenFeatures('b');
  for (const [key, subsets, subsetSize, seed] of [['kid_ab_seed2020_10x50', 10, 50, 2020], ['kid_ab_seed7_5xdefault', 5, 1000, 7]] as const) {
    const g = golden<KidGolden>(key);
    const r = kernelInceptionDistance(a, b, { subsets, subsetSize, seed });
    assert.equal(r.subsetSize, g.m);
    // measured: <= 3e-14 relative per subset (the kernel sums cancel: values are ~4e-2 of terms ~1)
    r.values.forEach((v, i) => assertClose(v, g.values[i]!, 1e-11, `${key} subset ${i}`));
    assertClose(r.mean, g.mean, 1e-11, `${key} mean`);
    // with m = n every subset is the whole set (permuted): std is rounding noise, compare it absolutely
    if (g.m === 200) assert.ok(r.std < 1e-12 * r.mean && g.std < 1e-12 * g.mean, `${key} std ${r.std}`);
    else assertClose(r.std, g.std, 1e-9, `${key} std`);
  }
});

test("clean-fid's kernel_distance after np.random.seed(s): same draws with the arguments swapped", () => {
  const a = goldenFeatures('a');
  const b = goldenFeatures('b');
  const r = kernelInceptionDistance(b, a, { subsets: 10, subsetSize: 50, seed: 0 });
  assertClose(r.mean, golden<KidGolden>('kid_ab_seed0_10x50_f64_b_first').mean, 1e-11, 'float64 numpy');
  // clean-fid itself runs in float32: measured 2.6e-6 relative from the float64 value
  assertClose(r.mean, golden<number>('kid_cleanfid_float32_seed0_10x50'), 1e-4, 'clean-fid float32');
});

test('explicit subset indices, and bad input', () => {
  const a = goldenFeatures('a');
  const b = goldenFeatures('b');
  const drawn = kernelInceptionDistance(a, b, { subsets: 2, subsetSize: 20, seed: 3 });
  const rng = new NumpyRandomState(3);
  const subsetIndices = [0, 1].map(() => ({ first: rng.choiceWithoutReplacement(200, 20), second: rng.choiceWithoutReplacement(200, 20) }));
  assert.deepEqual(kernelInceptionDistance(a, b, { subsetIndices }).values, drawn.values);
  const bad = [{ first: Int32Array.of(0, 1), second: Int32Array.of(0, 200) }];
  assert.throws(() => kernelInceptionDistance(a, b, { subsetIndices: bad }), (e: unknown) => e instanceof BadInputError && /row index 200/.test(e.message));
  const c = { data: new Float32Array(2 * 3), rows: 2, dims: 3 };
  assert.throws(() => kernelInceptionDistance(a, c), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_DIMS_MISMATCH');
  const one = { data: new Float32Array(64), rows: 1, dims: 64 };
  assert.throws(() => kernelInceptionDistance(a, one), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_TOO_FEW_SAMPLES');
});
