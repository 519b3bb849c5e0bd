import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { conv2dInputGradViaForward } from '../../src/tensor/fast-conv2d.js';

// the routed conv input gradient reads the filter through a heap view on wasm; through readSync's copy it must give
// the same bits

const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

test('conv input gradient: filter read from the heap equals readSync bit for bit', async () => {
  await selectBackend('wasm');
  const backend = tf.backend();
  // the same backend whose heap view of the filter is a readSync copy (every other member bound to the real one)
  let filterId: unknown;
  const heapView = (backend as unknown as { typedArrayFromHeap(info: tf.TensorInfo): Float32Array }).typedArrayFromHeap.bind(backend);
  const copied = (info: tf.TensorInfo): Float32Array => (info.dataId === filterId ? (backend.readSync(info.dataId) as Float32Array) : heapView(info));
  const noHeap = new Proxy(backend, {
    get: (target, key) => {
      if (key === 'typedArrayFromHeap') return copied;
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const grad = conv2dInputGradViaForward('wasm', undefined);
  const cases: { dy: number[]; w: number[]; input: number[]; strides: number; pad: 'same' | 'valid' }[] = [
    { dy: [16, 8, 8, 32], w: [3, 3, 32, 32], input: [16, 16, 16, 32], strides: 2, pad: 'same' },
    { dy: [4, 16, 16, 16], w: [3, 3, 12, 16], input: [4, 16, 16, 12], strides: 1, pad: 'same' },
    { dy: [2, 7, 7, 5], w: [3, 3, 3, 5], input: [2, 15, 15, 3], strides: 2, pad: 'valid' },
    { dy: [2, 6, 6, 8], w: [1, 1, 4, 8], input: [2, 6, 6, 4], strides: 1, pad: 'same' },
  ];
  for (const [i, c] of cases.entries()) {
    const dy = tf.tensor(values(c.dy.reduce((a, b) => a * b, 1), 10 + i), c.dy);
    const w = tf.tensor(values(c.w.reduce((a, b) => a * b, 1), 20 + i), c.w);
    filterId = w.dataId;
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: c.input };
    const run = (b: tf.KernelBackend): number[] => {
      const out = grad({ dy, filter: w }, attrs, b);
      const bits = Array.from(new Uint32Array((backend.readSync(out.dataId) as Float32Array).buffer));
      backend.disposeData(out.dataId);
      return bits;
    };
    const viaHeap = run(backend);
    const viaCopy = run(noHeap);
    assert.equal(viaHeap.length, c.input.reduce((a, b) => a * b, 1));
    assert.deepEqual(viaHeap, viaCopy, `case ${i}`);
    tf.dispose([dy, w]);
  }
});
