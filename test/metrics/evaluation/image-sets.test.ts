// The orchestration the metric commands and the evaluate stage share: same numbers as the extract/ calls it wraps,
// .npz statistics read before any model is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { featuresOfSets, statisticsOfSets } from '../../../src/metrics/evaluation/index.js';
import { imageSetFeatures, imageSetStatistics, OnnxExtractor, type ImageSetSummary } from '../../../src/metrics/extract/index.js';
import { encodeStatsNpz } from '../../../src/metrics/stats/index.js';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';

const golden = fromRoot('test', 'golden', 'metrics-peer');
const A = join(golden, 'images', 'a');
const model = join(golden, 'inception-w32.onnx');
const options = { extractor: { path: model, threads: 1 }, mode: 'clean' as const, batchSize: 50, cache: false as const };

test('statistics and features of a folder are those of the extract/ calls, with the extractor recorded', async () => {
  const seen: ImageSetSummary[] = [];
  const { sets, extractor } = await statisticsOfSets([A], { ...options, dims: 64, onImageSet: (s) => seen.push(s) });
  const { sets: rows } = await featuresOfSets([A], options);
  const direct = await OnnxExtractor.load(model, { threads: 1 });
  try {
    const pool = direct.select(['pool3']);
    const want = await imageSetStatistics(A, { extractor: pool, mode: 'clean', output: 'pool3', batchSize: 50 });
    assert.deepEqual(sets[0]!.stats, want.stats);
    assert.deepEqual(rows[0]!.features, (await imageSetFeatures(A, { extractor: pool, mode: 'clean', output: 'pool3', batchSize: 50 })).features);
    assert.deepEqual(extractor && [extractor.path, extractor.sha256, extractor.input], [model, direct.sha256, direct.input]);
  } finally {
    await direct.dispose();
  }
  assert.deepEqual(seen.map((s) => [s.folder, s.images]), [[A, 80]]);
});

test('.npz statistics alone need no model, and a bad one fails before the model is loaded', async () => {
  const dir = tempDir();
  const npz = join(dir, 'ref.npz');
  writeFileSync(npz, encodeStatsNpz({ mu: new Float64Array(8), sigma: new Float64Array(64) }));
  const missing = { ...options, extractor: { path: join(dir, 'no-model.onnx') } };
  const only = await statisticsOfSets([npz, npz], missing);
  assert.equal(only.extractor, undefined);
  assert.deepEqual(only.sets.map((s) => [s.path, s.stats.mu.length, s.summary]), [[npz, 8, undefined], [npz, 8, undefined]]);
  await assert.rejects(statisticsOfSets([A, npz], { ...missing, dims: 64 }), { code: 'STATS_DIMS_MISMATCH' });
  await assert.rejects(statisticsOfSets([A, npz], missing), { code: 'EXTRACTOR_MISSING' });
});
