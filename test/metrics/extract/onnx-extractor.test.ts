import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BadInputError, MissingAssetError } from '../../../src/errors.js';
import { OnnxExtractor, listImages } from '../../../src/metrics/extract/index.js';
import { chooseExecutionProvider } from '../../../src/onnx/execution-provider.js';
import { fromRoot } from '../../helpers/paths.js';

const golden = fromRoot('test', 'golden', 'metrics-peer');
const goldens = JSON.parse(readFileSync(`${golden}/goldens.json`, 'utf8')) as { model: { sha256: string; dims: number } };
const modelPath = `${golden}/inception-w32.onnx`;

test('loads the reduced FID Inception: sha256, declared input geometry and output dims', async () => {
  const x = await OnnxExtractor.load(modelPath, { threads: 1 });
  try {
    assert.equal(x.sha256, goldens.model.sha256);
    assert.deepEqual(x.input, { channels: 3, height: 299, width: 299 });
    assert.deepEqual([...x.outputs].sort(), ['logits_unbiased', 'pool3']);
    assert.equal(x.declaredDims('pool3'), goldens.model.dims);
    assert.equal(x.declaredDims('logits_unbiased'), 32);
    assert.equal(x.provider, 'cpu');
    const pool = x.select(['pool3']);
    assert.deepEqual(pool.outputs, ['pool3']);
    assert.equal(pool.sha256, x.sha256);
    assert.throws(() => x.select(['fc']), BadInputError);
  } finally {
    await x.dispose();
  }
});

test('outputs are chosen by name; an unknown name is a clear bad-input error', async () => {
  await assert.rejects(OnnxExtractor.load(modelPath, { outputs: ['pool_3'] }), (e: unknown) => e instanceof BadInputError && /no output named "pool_3"/.test(e.message));
  const x = await OnnxExtractor.load(modelPath, { outputs: ['pool3'], threads: 1 });
  try {
    const size = x.inputSize;
    const batch = new Float32Array(3 * size);
    for (let i = 0; i < batch.length; i++) batch[i] = Math.sin(i * 0.001);
    const all = await x.run(batch, 3);
    assert.deepEqual(Object.keys(all), ['pool3']);
    assert.equal(all.pool3!.length, 3 * 64);
    // a row does not depend on the rest of the batch (within float error)
    const one = await x.run(batch.subarray(size, 2 * size), 1);
    for (let j = 0; j < 64; j++) assert.ok(Math.abs(one.pool3![j]! - all.pool3![64 + j]!) < 1e-5);
    await assert.rejects(x.run(batch, 2), RangeError);
  } finally {
    await x.dispose();
  }
});

test('a missing model file is a missing asset, a non-ONNX one bad input, each naming it', async () => {
  await assert.rejects(OnnxExtractor.load('/nonexistent/model.onnx'), (e: unknown) => e instanceof MissingAssetError && e.message.includes('/nonexistent/model.onnx'));
  await assert.rejects(OnnxExtractor.load(`${golden}/goldens.json`), (e: unknown) => e instanceof BadInputError && /cannot load ONNX model/.test(e.message));
});

test('the execution provider is cpu unless cuda is both listed and installed', () => {
  assert.equal(chooseExecutionProvider('cpu'), 'cpu');
  assert.equal(chooseExecutionProvider('cuda'), 'cuda');
  assert.ok(['cpu', 'cuda'].includes(chooseExecutionProvider()));
});

test('folders are listed as pytorch-fid (flat, lower-case) or clean-fid (recursive, upper-case too) list them', async () => {
  const { tempDir } = await import('../../helpers/temp.js');
  const dir = tempDir({ 'b.png': 'x', 'a.PNG': 'x', 'c.txt': 'x', 'sub/d.jpg': 'x', '10.png': 'x', '9.png': 'x', '.e.png': 'x' });
  const names = (rule: 'pytorch-fid' | 'clean-fid') => listImages(dir, rule).map((p) => p.slice(dir.length + 1));
  assert.deepEqual(names('pytorch-fid'), ['.e.png', '10.png', '9.png', 'b.png']);
  assert.deepEqual(names('clean-fid'), ['10.png', '9.png', 'a.PNG', 'b.png', 'sub/d.jpg']);
  assert.throws(() => listImages(`${dir}/missing`, 'clean-fid'), BadInputError);
});
