import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import { precisionRecall } from '../../../src/metrics/stats/index.js';
import { golden, goldenFeatures } from './golden-fixtures.js';

interface PrGolden { precision: number; recall: number; min_relative_margin: number }

test('precision / recall (k = 3) equal a float64 numpy reference', () => {
  for (const [key, gen] of [['pr_ab_k3', 'b'], ['pr_ac_k3', 'c']] as const) {
    const g = golden<PrGolden>(key);
    // the nearest decision is >= 3.5e-5 relative from a tie, far above rounding: counts must match exactly
    assert.ok(g.min_relative_margin > 1e-8);
    const r = precisionRecall(goldenFeatures('a'), goldenFeatures(gen), { k: 3 });
    assert.equal(r.precision, g.precision, `${key} precision`);
    assert.equal(r.recall, g.recall, `${key} recall`);
    assert.ok(Math.abs(r.f1 - (2 * g.precision * g.recall) / (g.precision + g.recall)) < 1e-15);
  }
});

test('a set against itself has precision = recall = 1', () => {
  const a = goldenFeatures('a');
  const r = precisionRecall(a, a);
  assert.equal(r.precision, 1);
  assert.equal(r.recall, 1);
});

test('bad input: fewer than k + 1 samples, mismatched dims, non-finite rows', () => {
  const a = goldenFeatures('a');
  const three = { data: new Float32Array(3 * 64), rows: 3, dims: 64 };
  assert.throws(() => precisionRecall(a, three), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_TOO_FEW_SAMPLES');
  const other = { data: new Float32Array(8 * 2), rows: 8, dims: 2 };
  assert.throws(() => precisionRecall(a, other), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_DIMS_MISMATCH');
  const nan = { data: new Float32Array(8 * 64), rows: 8, dims: 64 };
  nan.data[5 * 64 + 7] = Infinity;
  assert.throws(() => precisionRecall(a, nan), (e: unknown) => e instanceof BadInputError && /row 5 /.test(e.message));
});
