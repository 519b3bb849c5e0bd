import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, registerFastKernels, unregisterFastKernels } from '../../src/tensor/index.js';

// the row-copy Concat and SplitV must give wasm's own kernels' outputs bit for bit (shapes, dtypes, every element)

const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

interface Out {
  shape: number[];
  dtype: string;
  bits: number[];
}
const bitsOf = (t: tf.Tensor): Out => {
  const data = t.dataSync();
  const bits = data instanceof Float32Array ? Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)) : Array.from(data as Int32Array | Uint8Array);
  return { shape: t.shape, dtype: t.dtype, bits };
};

/** fn's outputs with the routed kernels, then with wasm's originals */
const bothWays = (fn: () => tf.Tensor[]): [Out[], Out[]] => {
  const run = (): Out[] => {
    const outs = tf.tidy(fn);
    const got = outs.map(bitsOf);
    tf.dispose(outs);
    return got;
  };
  const routed = run();
  unregisterFastKernels('wasm');
  try {
    return [routed, run()];
  } finally {
    registerFastKernels('wasm');
  }
};

const tensor = (shape: number[], seed: number, dtype: 'float32' | 'int32' | 'bool' = 'float32'): tf.Tensor => {
  const v = values(size(shape), seed);
  if (dtype === 'float32') return tf.tensor(v, shape);
  return tf.tensor(Array.from(v, (x) => (dtype === 'bool' ? (x > 0 ? 1 : 0) : Math.round(x * 1000))), shape, dtype);
};

test('Concat and SplitV as row copies equal wasm kernels bit for bit', async (t) => {
  await selectBackend('wasm');
  assert.ok(tf.getKernel(tf.Concat, 'wasm') !== undefined);

  await t.test('concat: the UNet skip shapes, every axis, three parts, int32, bool, empty parts', () => {
    const cases: [number[][], number][] = [
      [[[16, 16, 16, 32], [16, 16, 16, 16]], 3],
      [[[16, 8, 8, 32], [16, 8, 8, 32]], -1],
      [[[32, 4, 1, 32], [32, 4, 1, 32]], 2],
      [[[16, 4, 1, 256], [16, 4, 1, 256]], 2],
      [[[2, 3, 4, 5], [2, 1, 4, 5], [2, 2, 4, 5]], 1],
      [[[2, 3, 4], [5, 3, 4]], 0],
      [[[7], [3], [90]], 0],
      [[[3, 70], [3, 80]], 1],
      [[[2, 0, 3], [2, 4, 3]], 1],
    ];
    for (const [shapes, axis] of cases) {
      const [got, want] = bothWays(() => [tf.concat(shapes.map((s, i) => tensor(s, 10 + i)), axis)]);
      assert.deepEqual(got, want, `concat [${shapes.map((s) => `[${s}]`).join(', ')}] axis ${axis}`);
    }
    for (const dtype of ['int32', 'bool'] as const) {
      const [got, want] = bothWays(() => [tf.concat([tensor([4, 3, 5], 20, dtype), tensor([4, 2, 5], 21, dtype)], 1), tf.concat([tensor([3, 40], 22, dtype), tensor([3, 30], 23, dtype)], 1)]);
      assert.deepEqual(got, want, `concat ${dtype}`);
    }
  });

  await t.test('split: sizes, -1, even splits, every axis, int32, bool', () => {
    const cases: [number[], number | number[], number][] = [
      [[16, 16, 16, 48], [32, 16], 3],
      [[32, 4, 2, 512], 2, 2],
      [[16, 16, 256], 2, -1],
      [[6, 5, 4], [1, -1, 2], 1],
      [[6, 5, 4], 3, 0],
      [[3, 200], [70, 130], 1],
      [[2, 4, 3], [0, 4], 1],
    ];
    for (const [shape, splits, axis] of cases) {
      const [got, want] = bothWays(() => tf.split(tensor(shape, 30), Array.isArray(splits) ? [...splits] : splits, axis));
      assert.deepEqual(got, want, `split [${shape}] ${JSON.stringify(splits)} axis ${axis}`);
    }
    for (const dtype of ['int32', 'bool'] as const) {
      const [got, want] = bothWays(() => [...tf.split(tensor([4, 6, 5], 40, dtype), [2, 4], 1), ...tf.split(tensor([3, 90], 41, dtype), [30, 60], 1)]);
      assert.deepEqual(got, want, `split ${dtype}`);
    }
  });

  await t.test('the skip concat gradient (a split) and upsampling by concats, through tf.grads', () => {
    const [got, want] = bothWays(() => {
      const x = tensor([2, 4, 4, 8], 50);
      const y = tensor([2, 4, 4, 16], 51);
      const w = tensor([2, 4, 4, 24], 52);
      return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.concat([p, q], 3).mul(w).sum())([x, y]);
    });
    assert.deepEqual(got, want);
  });

  await t.test('no tensor memory leaks', () => {
    const x = tensor([4, 8, 8, 16], 60);
    const work = (): void => tf.dispose(tf.tidy(() => tf.split(tf.concat([x, x, x], 3), [16, 32], 3)));
    work();
    const bytes = tf.memory().numBytes;
    const dataIds = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) work();
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(tf.backend().numDataIds(), dataIds);
    x.dispose();
  });
});
