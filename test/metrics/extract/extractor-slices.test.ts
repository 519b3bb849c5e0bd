// The CPU extractor runs a streamed batch through onnxruntime a slice of rows at a time (flat memory at any batch
// size): the features must be the same bits as one run of the whole batch, and FID stays pytorch-fid's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CPU_ROWS_PER_RUN, imageSetStatistics, OnnxExtractor } from '../../../src/metrics/extract/index.js';
import { frechetDistance } from '../../../src/metrics/stats/index.js';
import { fromRoot } from '../../helpers/paths.js';

const golden = fromRoot('test', 'golden', 'metrics-peer');
const model = join(golden, 'inception-w32.onnx');
const peer = JSON.parse(readFileSync(join(golden, 'goldens.json'), 'utf8')) as { 'legacy-pytorch': { fid: number } };

test('a batch run in slices of rows gives the same feature bits as one run of the whole batch', async () => {
  const whole = await OnnxExtractor.load(model, { threads: 1, maxRowsPerRun: Infinity });
  const byDefault = await OnnxExtractor.load(model, { threads: 1 });
  const byThree = await OnnxExtractor.load(model, { threads: 1, maxRowsPerRun: 3 });
  try {
    assert.equal(byDefault.provider, 'cpu');
    assert.equal(byDefault.maxRowsPerRun, CPU_ROWS_PER_RUN);
    assert.equal(byDefault.select(['pool3']).maxRowsPerRun, CPU_ROWS_PER_RUN);
    const rows = CPU_ROWS_PER_RUN * 2 + 5;
    const batch = new Float32Array(rows * whole.inputSize);
    for (let i = 0; i < batch.length; i++) batch[i] = Math.sin(i * 0.0007) * Math.cos(i * 0.013);
    const want = await whole.run(batch, rows);
    assert.equal(want.pool3!.length, rows * 64);
    for (const sliced of [byDefault, byThree]) {
      const got = await sliced.run(batch, rows);
      assert.deepEqual(Object.keys(got).sort(), ['logits_unbiased', 'pool3']);
      for (const name of ['pool3', 'logits_unbiased']) assert.ok(Buffer.from(got[name]!.buffer).equals(Buffer.from(want[name]!.buffer)), `${name} differs with ${sliced.maxRowsPerRun} rows per run`);
    }
    await assert.rejects(OnnxExtractor.load(model, { maxRowsPerRun: 0 }), RangeError);
  } finally {
    await Promise.all([whole.dispose(), byDefault.dispose(), byThree.dispose()]);
  }
});

test('FID statistics of a folder are the same bits sliced or not, and the FID is still pytorch-fid’s within 1e-4', async () => {
  const stats = async (maxRowsPerRun: number | undefined, folder: string) => {
    const x = await OnnxExtractor.load(model, { threads: 1, outputs: ['pool3'], ...(maxRowsPerRun !== undefined ? { maxRowsPerRun } : {}) });
    try {
      // 80 images in streamed batches of 50 and 30: sliced 16 + 16 + 16 + 2 and 16 + 14
      return (await imageSetStatistics(folder, { extractor: x, mode: 'legacy-pytorch', output: 'pool3', batchSize: 50 })).stats;
    } finally {
      await x.dispose();
    }
  };
  const [a, b] = [join(golden, 'images', 'a'), join(golden, 'images', 'b')];
  const slicedA = await stats(undefined, a);
  const slicedB = await stats(undefined, b);
  assert.deepEqual(slicedA, await stats(Infinity, a));
  assert.deepEqual(slicedB, await stats(Infinity, b));
  const fid = frechetDistance(slicedA, slicedB).distance;
  assert.ok(Math.abs(fid - peer['legacy-pytorch'].fid) < 1e-4, `${fid} vs pytorch-fid ${peer['legacy-pytorch'].fid}`);
});
