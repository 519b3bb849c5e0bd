import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, registerFastKernels, unregisterFastKernels } from '../../src/tensor/index.js';
import { columnSumGeometry, columnSumsCopied, columnSumsInto } from '../../src/tensor/heap-column-sum.js';
import { readyHeapModule } from '../../src/tensor/wasm-heap-module.js';
import { rng } from '../helpers/random-arrays.js';

// the column-sum Sum must give the backend's own kernel's outputs bit for bit: every step shape, random shapes and
// runs of axes, keepDims, values of many magnitudes (so that any other summation order shows in the last bits),
// signed zeros, gradients through the tape; the cases it does not take keep wasm's kernel.

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** float32 values u·2^e, e in [-12, 12]: sums of these change bits when their order changes */
const spread = (n: number, seed: number): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 ** Math.round(next() * 24));
};

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
const run = (fn: () => tf.Tensor[]): Out[] => {
  const outs = tf.tidy(fn);
  const got = outs.map(bitsOf);
  tf.dispose(outs);
  return got;
};

/** fn's outputs on `backend` with the fast kernels registered, then with the backend's originals */
const bothWays = (backend: string, fn: () => tf.Tensor[]): [Out[], Out[]] => {
  const routed = run(fn);
  unregisterFastKernels(backend);
  try {
    return [routed, run(fn)];
  } finally {
    registerFastKernels(backend);
  }
};

const tensor = (shape: number[], seed: number, dtype: 'float32' | 'int32' | 'bool' = 'float32'): tf.Tensor => {
  const v = spread(size(shape), seed);
  if (dtype === 'float32') return tf.tensor(v, shape);
  return tf.tensor(Array.from(v, (x) => (dtype === 'bool' ? (x > 0 ? 1 : 0) : Math.round(x * 1000))), shape, dtype);
};

// the step's sums: bias gradients over leading axes, GroupNorm's over the middle, and innermost ones (original kept)
const STEP_SUMS: [number[], number[]][] = [
  [[256, 256], [0]],
  [[256, 32], [0]],
  [[16, 32], [0]],
  [[16, 8, 8, 32], [0, 1, 2]],
  [[16, 8, 8, 32], [1, 2]],
  [[16, 16, 16, 16], [0, 1, 2]],
  [[16, 4, 4, 32], [1, 2]],
  [[16, 16, 16, 12], [0, 1, 2]],
  [[16, 4, 16, 16], [3]],
];

test('columnSumGeometry: only a run of increasing axes that is not innermost', () => {
  assert.deepEqual(columnSumGeometry([256, 32], [0]), { outer: 1, rows: 256, cols: 32, axes: [0] });
  assert.deepEqual(columnSumGeometry([16, 8, 8, 32], [1, 2]), { outer: 16, rows: 64, cols: 32, axes: [1, 2] });
  assert.deepEqual(columnSumGeometry([16, 8, 8, 32], [-4, 1, 2]), { outer: 1, rows: 1024, cols: 32, axes: [0, 1, 2] });
  assert.equal(columnSumGeometry([16, 8, 8, 32], [3]), undefined, 'innermost: wasm sums without a transpose');
  assert.equal(columnSumGeometry([16, 8, 8, 32], [0, 2]), undefined, 'not one run');
  assert.equal(columnSumGeometry([16, 8, 8, 32], [2, 1]), undefined, 'decreasing: wasm sums in that order');
  assert.equal(columnSumGeometry([16, 8], []), undefined);
});

test('column-sum Sum equals wasm\'s Sum bit for bit', async (t) => {
  await selectBackend('wasm');

  await t.test('sum: the step shapes, random leading and middle runs, keepDims, long columns of mixed magnitudes', () => {
    const next = rng(17);
    const random: [number[], number[]][] = Array.from({ length: 200 }, () => {
      const rank = 2 + Math.floor((next() + 0.5) * 4);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor((next() + 0.5) * 12));
      const first = Math.floor((next() + 0.5) * (rank - 1));
      const last = first + Math.floor((next() + 0.5) * (rank - 1 - first));
      return [shape, Array.from({ length: last - first + 1 }, (_, k) => first + k)];
    });
    const long: [number[], number[]][] = [[[4099, 5], [0]], [[3, 2000, 7], [1]], [[1000, 1], [0]]];
    [...STEP_SUMS, ...random, ...long].forEach(([shape, axes], i) => {
      for (const keepDims of [false, true]) {
        const [got, want] = bothWays('wasm', () => [tf.sum(tensor(shape, 200 + i), axes, keepDims)]);
        assert.deepEqual(got, want, `sum [${shape}] over [${axes}] keepDims ${keepDims}`);
      }
    });
  });

  await t.test('sum: the order argument in plain JS: in-order float32 column sums give wasm\'s transposed row sums', () => {
    unregisterFastKernels('wasm');
    try {
      for (const [shape, axes] of [...STEP_SUMS.slice(0, 8), [[4099, 5], [0]], [[3, 2000, 7], [1]]] as [number[], number[]][]) {
        const g = columnSumGeometry(shape, axes);
        assert.ok(g !== undefined);
        const x = tensor(shape, 77);
        const want = tf.sum(x, axes);
        const got = new Float32Array(g.outer * g.cols);
        columnSumsInto(x.dataSync() as Float32Array, g.outer, g.rows, g.cols, got);
        assert.deepEqual(Array.from(new Uint32Array(got.buffer)), bitsOf(want).bits, `sum [${shape}] over [${axes}]`);
        tf.dispose([x, want]);
      }
    } finally {
      registerFastKernels('wasm');
    }
  });

  await t.test('sum: negative zeros sum to +0 as wasm\'s sum from 0 does; int32, unsorted axes and gradients keep their kernels', () => {
    const zeros = new Float32Array(12).fill(-0);
    zeros[5] = 1.5;
    let [got, want] = bothWays('wasm', () => [tf.sum(tf.tensor(zeros, [4, 3]), 0), tf.sum(tf.tensor(zeros, [2, 2, 3]), [0, 1])]);
    assert.deepEqual(got, want, '-0 columns');
    assert.equal(got[0]?.bits[0], 0, '+0, not -0');
    [got, want] = bothWays('wasm', () => [tf.sum(tensor([6, 5, 4], 3, 'int32'), [0, 1]), tf.sum(tensor([6, 5, 4], 4), [1, 0]), tf.sum(tensor([6, 5, 4], 4), [0, 2])]);
    assert.deepEqual(got, want, 'int32, unsorted, split axes');
    // a bias gradient through the tape: Sum over [0, 1, 2] of dy, as in every conv layer's backward pass
    [got, want] = bothWays('wasm', () => {
      const x = tensor([8, 6, 6, 16], 31);
      const b = tensor([16], 32);
      const g = tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(xx, bb), tf.add(xx, bb))));
      return g([x, b]);
    });
    assert.deepEqual(got, want, 'bias gradient');
  });

  await t.test('on the cpu backend the route leaves its kernel as it is', async () => {
    await tf.setBackend('cpu');
    registerFastKernels('cpu');
    try {
      for (const [shape, axes] of STEP_SUMS) {
        const [got, want] = bothWays('cpu', () => [tf.sum(tensor(shape, 4), axes)]);
        assert.deepEqual(got, want, `cpu sum [${shape}] over [${axes}]`);
      }
    } finally {
      unregisterFastKernels('cpu');
      await tf.setBackend('wasm');
    }
  });
});

test('in place on the heap: the routed Sum gives the copying path\'s bits (columnSumsCopied), on tensors\' own floats', async () => {
  await selectBackend('wasm');
  for (const [shape, axes] of [...STEP_SUMS, [[4099, 5], [0]], [[3, 2000, 7], [1]], [[5, 3, 9], [0, 1]]] as [number[], number[]][]) {
    const g = columnSumGeometry(shape, axes);
    if (g === undefined) continue;
    const x = tensor(shape, 31);
    const [got] = run(() => [tf.sum(x, axes)]);
    const copied = new Float32Array(g.outer * g.cols);
    columnSumsCopied(x.dataSync() as Float32Array, g.outer, g.rows, g.cols, copied);
    assert.deepEqual(got!.bits, Array.from(new Uint32Array(copied.buffer)), `sum [${shape}] over [${axes}]`);
    x.dispose();
  }
  assert.ok(readyHeapModule('column-sum') !== undefined, 'the sums ran on the heap module');
});
