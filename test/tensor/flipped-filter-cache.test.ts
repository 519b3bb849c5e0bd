import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { MAX_BYTES, flippedCacheSize } from '../../src/tensor/flipped-filter-cache.js';
import { floatStorage } from '../../src/tensor/float-storage.js';
import { registerFastKernels, unregisterFastKernels } from '../../src/tensor/fast-kernels.js';

// the routed conv input gradient keeps each filter's flipped sub-filters between calls. A reused entry must give
// the bits a fresh build gives, and no entry may outlive its filter's buffer or values.

const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

const W: [number, number, number, number] = [3, 3, 8, 16];
const DY: [number, number, number, number] = [2, 4, 4, 16];
const INPUT: [number, number, number, number] = [2, 8, 8, 8];
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const dyValues = values(size(DY), 1);

/** the input gradient's float32 bits for filter `w` (stride 2: four sub-filters) */
const dxBits = (w: tf.Tensor4D): Uint32Array => {
  const dy = tf.tensor4d(dyValues, DY);
  const dx = tf.conv2dTranspose(dy, w, INPUT, 2, 'same');
  const bits = new Uint32Array((dx.dataSync() as Float32Array).slice().buffer);
  tf.dispose([dy, dx]);
  return bits;
};

/** the cpu backend routes the conv gradients only when asked (production routes wasm's) */
const onBackend = async (name: 'wasm' | 'cpu', body: () => void): Promise<void> => {
  await selectBackend(name);
  if (name === 'wasm') return body();
  registerFastKernels('cpu');
  try {
    body();
  } finally {
    unregisterFastKernels('cpu');
  }
};

/** the bits with a filter built fresh from `v` and disposed after (a cache miss, then an eviction) */
const freshBits = (v: Float32Array): Uint32Array => {
  const w = tf.tensor4d(v, W);
  const bits = dxBits(w);
  w.dispose();
  return bits;
};

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: a reused flipped filter gives the bits of a fresh build, and is evicted with its filter`, () =>
    onBackend(backend, () => {
    const v = values(size(W), 2);
    const before = flippedCacheSize(tf.backend()).entries;
    const w = tf.tensor4d(v, W);
    const first = dxBits(w);
    assert.equal(flippedCacheSize(tf.backend()).entries, before + 4, 'four phases cached');
    const again = dxBits(w);
    assert.equal(flippedCacheSize(tf.backend()).entries, before + 4, 'the second call hits');
    assert.deepEqual(again, first);
    assert.deepEqual(again, freshBits(v.slice()));
    w.dispose();
    assert.equal(flippedCacheSize(tf.backend()).entries, before, 'evicted when the filter is freed');
  }));

  test(`${backend}: a disposed filter whose dataId and memory are reused for other values is not served stale`, () =>
    onBackend(backend, () => {
    const b = tf.backend() as tf.KernelBackend & { move(dataId: tf.DataId, values: Float32Array, shape: number[], dtype: tf.DataType, refCount: number): void };
    const v1 = values(size(W), 3);
    const v2 = values(size(W), 4);
    const expected = freshBits(v2);
    const w1 = tf.tensor4d(v1, W);
    assert.notDeepEqual(dxBits(w1), expected);
    const dataId = w1.dataId;
    w1.dispose();
    // the backend revives the same dataId object with other values (as engine.moveData does), likely in the freed memory
    b.move(dataId, v2.slice(), [...W], 'float32', 1);
    const w2 = tf.engine().makeTensorFromDataId(dataId, [...W], 'float32', b) as tf.Tensor4D;
    assert.deepEqual(dxBits(w2), expected);
    w2.dispose();
    // and a new tensor in the freed memory
    const w3 = tf.tensor4d(values(size(W), 5), W);
    dxBits(w3);
    w3.dispose();
    const w4 = tf.tensor4d(v2, W);
    assert.deepEqual(dxBits(w4), expected);
    w4.dispose();
  }));
}

test('wasm: a filter written in place through FloatStorage (as the optimiser writes its moments) is not served stale', async () => {
  await selectBackend('wasm');
  const v2 = values(size(W), 7);
  const expected = freshBits(v2);
  const w = tf.tensor4d(values(size(W), 6), W);
  assert.notDeepEqual(dxBits(w), expected);
  const s = floatStorage();
  assert.ok(s !== undefined && s.kind === 'wasm');
  assert.ok(s.writable(w), 'the filter owns its buffer');
  s.view(w).set(v2);
  assert.deepEqual(dxBits(w), expected);
  w.dispose();
});

test('wasm: the cache holds at most MAX_BYTES of flipped filters', async () => {
  await selectBackend('wasm');
  // 1x1 filters of 1024x1024 (4 MiB each) at stride 1: one sub-filter per filter
  const shape: [number, number, number, number] = [1, 1, 1024, 1024];
  const perFilter = size(shape) * 4;
  const kept: tf.Tensor4D[] = [];
  const dy = tf.zeros([1, 1, 1, 1024]) as tf.Tensor4D;
  for (let i = 0; i < Math.ceil(MAX_BYTES / perFilter) + 2; i++) {
    const w = tf.zeros(shape) as tf.Tensor4D;
    kept.push(w);
    tf.tidy(() => tf.conv2dTranspose(dy, w, [1, 1, 1, 1024], 1, 'same').dataSync());
    assert.ok(flippedCacheSize(tf.backend()).bytes <= MAX_BYTES, `within the bound after ${i + 1} filters`);
  }
  assert.ok(flippedCacheSize(tf.backend()).bytes > MAX_BYTES - 2 * perFilter, 'the bound is used, not undercut');
  for (const w of kept) w.dispose();
  dy.dispose();
});
