import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import { inceptionScore } from '../../../src/metrics/stats/index.js';
import { assertClose, golden, goldenFeatures } from './golden-fixtures.js';

interface IsGolden { mean: number; std: number; scores: number[] }

test('torch-fidelity convention: RandomState(2020) shuffle, i*N//10 splits, population std', () => {
  const g = golden<IsGolden>('is_torch_fidelity');
  const r = inceptionScore(goldenFeatures('logits'));
  // measured: ~1e-15 relative
  r.scores.forEach((s, i) => assertClose(s, g.scores[i]!, 1e-12, `split ${i}`));
  assertClose(r.mean, g.mean, 1e-12, 'mean');
  assertClose(r.std, g.std, 1e-10, 'std');
});

test('torchmetrics convention: torch.chunk splits and Bessel-corrected std (given order)', () => {
  const g = golden<IsGolden>('is_torchmetrics_195_unshuffled');
  const logits = goldenFeatures('logits');
  const first195 = { data: logits.data.subarray(0, 195 * 16), rows: 195, dims: 16 };
  const r = inceptionScore(first195, { convention: 'torchmetrics' });
  assert.equal(r.scores.length, 10); // chunks of 20, the last one of 15
  assertClose(r.mean, g.mean, 1e-12, 'mean');
  assertClose(r.std, g.std, 1e-10, 'std');
  // an explicit identity permutation is the same as no shuffle
  const identity = Int32Array.from({ length: 195 }, (_, i) => i);
  assert.deepEqual(inceptionScore(first195, { convention: 'torchmetrics', permutation: identity }).scores, r.scores);
});

test('bad input: fewer samples than splits, broken permutation', () => {
  const few = { data: new Float32Array(5 * 4), rows: 5, dims: 4 };
  assert.throws(() => inceptionScore(few), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_TOO_FEW_SAMPLES');
  const logits = goldenFeatures('logits');
  assert.throws(() => inceptionScore(logits, { permutation: new Int32Array(200) }), (e: unknown) => e instanceof BadInputError && /not a permutation/.test(e.message));
});
