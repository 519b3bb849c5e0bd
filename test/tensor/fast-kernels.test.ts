import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, registerFastKernels, unregisterFastKernels, fastKernelsRegistered } from '../../src/tensor/index.js';

// every routed kernel on wasm is checked against the untouched pure-JS cpu backend

const rng = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
};
const randomArray = (n: number, seed: number): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, next);
};
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** runs fn on a backend with fresh tensors built from the same data; returns plain arrays */
const runOn = async (backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> => {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const arrays = await Promise.all(outs.map((o) => o.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return arrays;
};

const assertClose = (got: Float32Array, want: Float32Array, label: string): void => {
  assert.equal(got.length, want.length, `${label}: length`);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got[i] ?? NaN) - (want[i] ?? NaN)));
  // float32 accumulation over at most a few hundred terms of O(1) values
  assert.ok(worst <= 1e-4 * Math.max(1, scale), `${label}: max abs diff ${worst} (scale ${scale})`);
  assert.ok(Number.isFinite(worst), `${label}: non-finite`);
};

const compare = async (label: string, fn: () => tf.Tensor[]): Promise<void> => {
  const want = await runOn('cpu', fn);
  const got = await runOn('wasm', fn);
  want.forEach((w, i) => assertClose(got[i] ?? new Float32Array(), w, `${label}[${i}]`));
};

test('wasm backend with fast kernels', async (t) => {
  const info = await selectBackend('wasm');
  assert.equal(info.name, 'wasm');
  assert.ok(fastKernelsRegistered('wasm'));
  assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') !== undefined, 'filter gradient kernel added');

  await t.test('matMul forward with every transpose combination, batched and broadcast', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[33, 17], [17, 29], false, false],
      [[17, 33], [17, 29], true, false],
      [[33, 17], [29, 17], false, true],
      [[17, 33], [29, 17], true, true],
      [[3, 9, 5], [3, 7, 5], false, true],
      [[3, 5, 9], [5, 7], true, false],
      // large enough per product to be split into single products
      [[4, 40, 30], [4, 30, 20], false, false],
      [[4, 30, 40], [4, 20, 30], true, true],
      [[3, 40, 30], [30, 20], false, false],
      [[2, 3, 40, 16], [2, 3, 40, 16], false, true],
      [[2, 1, 40, 16], [2, 3, 16, 40], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = randomArray(size(sa), 1);
      const b = randomArray(size(sb), 2);
      await compare(`matMul ${sa}x${sb} tA=${ta} tB=${tb}`, () => [tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb)]);
    }
  });

  await t.test('matMul gradients (which use transposed products)', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[12, 7], [7, 10], false, false],
      [[2, 12, 7], [2, 7, 10], false, false],
      [[7, 12], [10, 7], true, true],
      [[2, 3, 40, 16], [2, 3, 40, 16], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = randomArray(size(sa), 3);
      const b = randomArray(size(sb), 4);
      await compare(`matMul grad ${sa}x${sb}`, () => {
        const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.matMul(x, y, ta, tb).square().sum();
        return tf.grads(f)([tf.tensor(a, sa), tf.tensor(b, sb)]);
      });
    }
  });

  await t.test('fused matMul (dense layer) forward and gradients with transposes', async () => {
    const a = randomArray(6 * 8, 5);
    const b = randomArray(5 * 8, 6);
    const bias = randomArray(5, 7);
    await compare('fused matMul', () => {
      const f = (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor): tf.Tensor =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, transposeB: true, bias: c, activation: 'relu' }).sum();
      const [x, w, c] = [tf.tensor2d(a, [6, 8]), tf.tensor2d(b, [5, 8]), tf.tensor1d(bias)];
      return [tf.fused.matMul({ a: x, b: w, transposeB: true, bias: c, activation: 'relu' }), ...tf.grads(f)([x, w, c])];
    });
  });

  await t.test('conv2d gradients: strides 1 and 2, same and valid, odd/even sizes and kernels', async () => {
    const cases: { x: number[]; f: number[]; s: number | [number, number]; pad: 'same' | 'valid' }[] = [
      { x: [2, 7, 6, 3], f: [1, 1, 3, 4], s: 2, pad: 'same' },
      { x: [1, 10, 11, 2], f: [3, 3, 2, 3], s: 3, pad: 'same' },
      { x: [1, 10, 11, 2], f: [5, 5, 2, 3], s: 3, pad: 'valid' },
      { x: [2, 8, 7, 3], f: [3, 2, 3, 4], s: [2, 1], pad: 'same' },
      { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
      { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'valid' },
      { x: [2, 8, 8, 4], f: [3, 3, 4, 6], s: 2, pad: 'same' },
      { x: [1, 9, 7, 4], f: [3, 3, 4, 2], s: 2, pad: 'same' },
      { x: [1, 9, 7, 4], f: [3, 3, 4, 2], s: 2, pad: 'valid' },
      { x: [2, 6, 6, 5], f: [1, 1, 5, 3], s: 1, pad: 'same' },
      { x: [1, 10, 10, 2], f: [4, 4, 2, 3], s: 2, pad: 'same' },
      { x: [1, 11, 9, 3], f: [2, 3, 3, 4], s: 1, pad: 'same' },
    ];
    for (const c of cases) {
      const xs = randomArray(size(c.x), 11);
      const fs = randomArray(size(c.f), 12);
      const label = `conv2d x=${c.x} f=${c.f} s=${c.s} ${c.pad}`;
      await compare(label, () => {
        const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
        const w = tf.tensor4d(fs, c.f as [number, number, number, number]);
        const y = tf.conv2d(x, w, c.s, c.pad);
        const r = tf.tensor(randomArray(y.size, 13), y.shape);
        const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad).mul(r).sum();
        return [y, ...tf.grads(f)([x, w])];
      });
    }
  });

  await t.test('conv2dTranspose (the input-gradient kernel called directly) and explicit padding', async () => {
    const dy = randomArray(2 * 4 * 4 * 6, 21);
    const w = randomArray(3 * 3 * 3 * 6, 22);
    await compare('conv2dTranspose', () => [
      tf.conv2dTranspose(tf.tensor4d(dy, [2, 4, 4, 6]), tf.tensor4d(w, [3, 3, 3, 6]), [2, 8, 8, 3], 2, 'same'),
    ]);
    const xs = randomArray(1 * 7 * 7 * 3, 23);
    await compare('conv2d explicit pad grads', () => {
      const pad: tf.backend_util.ExplicitPadding = [[0, 0], [2, 0], [1, 1], [0, 0]];
      const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, pad).square().sum();
      return tf.grads(f)([tf.tensor4d(xs, [1, 7, 7, 3]), tf.tensor4d(w.slice(0, 3 * 3 * 3 * 2), [3, 3, 3, 2])]);
    });
  });

  await t.test('fused conv2d with bias and activation', async () => {
    const xs = randomArray(2 * 6 * 6 * 3, 31);
    const ws = randomArray(3 * 3 * 3 * 4, 32);
    const bs = randomArray(4, 33);
    await compare('fused conv2d', () => {
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }).sum();
      return tf.grads(f)([tf.tensor4d(xs, [2, 6, 6, 3]), tf.tensor4d(ws, [3, 3, 3, 4]), tf.tensor1d(bs)]);
    });
  });

  await t.test('concat, slice and split on every axis (the gradients of each other)', async () => {
    const shapes: number[][] = [[2, 3, 4, 5], [6, 70], [3, 1, 2, 80], [4]];
    for (const shape of shapes) {
      const a = randomArray(size(shape), 61);
      const b = randomArray(size(shape), 62);
      for (let axis = 0; axis < shape.length; axis++) {
        await compare(`concat [${shape}] axis ${axis}`, () => [tf.concat([tf.tensor(a, shape), tf.tensor(b, shape), tf.tensor(a, shape)], axis)]);
        const n = shape[axis]!;
        const pieces = n >= 3 ? [1, n - 3, 2] : [n];
        await compare(`split [${shape}] axis ${axis} into ${pieces}`, () => tf.split(tf.tensor(a, shape), pieces, axis));
        const begin = shape.map((d, i) => (i === axis ? Math.min(1, d - 1) : 0));
        const sz = shape.map((d, i) => (i === axis ? Math.max(1, d - 2) : -1));
        await compare(`slice [${shape}] begin ${begin} size ${sz}`, () => [tf.slice(tf.tensor(a, shape), begin, sz)]);
      }
    }
    const inner = randomArray(4 * 6 * 5, 63);
    await compare('slice inside every axis', () => [tf.slice(tf.tensor(inner, [4, 6, 5]), [1, 2, 1], [2, 3, 3])]);
    await compare('concat with an empty part, and of int32 and bool', () => [
      tf.concat([tf.tensor(inner, [4, 30]), tf.zeros([4, 0]), tf.tensor(inner, [4, 30])], 1),
      tf.concat([tf.tensor([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor([5, 6], [2, 1], 'int32')], 1).cast('float32'),
      tf.concat([tf.tensor([1, 0], [2, 1], 'bool'), tf.tensor([0, 1], [2, 1], 'bool')], 1).cast('float32'),
      tf.slice(tf.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2]).cast('float32'),
    ]);
    await compare('concat and split gradients', () => {
      const x = tf.tensor(randomArray(2 * 3 * 3 * 4, 64), [2, 3, 3, 4]);
      const y = tf.tensor(randomArray(2 * 3 * 3 * 6, 65), [2, 3, 3, 6]);
      const w = tf.tensor(randomArray(2 * 3 * 3 * 10, 66), [2, 3, 3, 10]);
      return tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.concat([p, q], 3).mul(w).sum())([x, y]);
    });
  });

  await t.test('tile and broadcastTo: every axis, ones, int32 and bool, and the gradient', async () => {
    const cases: [number[], number[]][] = [
      [[1, 24, 64], [32, 1, 1]],
      [[2, 3, 4], [3, 1, 2]],
      [[3, 1, 5], [2, 4, 3]],
      [[5], [7]],
      [[2, 2, 1, 3], [1, 3, 5, 1]],
      [[2, 3], [1, 1]],
    ];
    for (const [shape, reps] of cases) {
      const a = randomArray(size(shape), 71);
      await compare(`tile [${shape}] x [${reps}]`, () => [tf.tile(tf.tensor(a, shape), reps)]);
    }
    await compare('broadcastTo, int32, bool, empty, and the tile gradient', () => [
      tf.broadcastTo(tf.tensor(randomArray(24 * 8, 72), [1, 24, 8]), [5, 24, 8]),
      tf.tile(tf.tensor([1, 2, 3], [3, 1], 'int32'), [2, 3]).cast('float32'),
      tf.tile(tf.tensor([1, 0], [1, 2], 'bool'), [3, 2]).cast('float32'),
      tf.tile(tf.zeros([2, 0]), [3, 2]),
      tf.grad((x: tf.Tensor) => tf.tile(x, [3, 2]).mul(tf.range(0, 24).reshape([6, 4])).sum())(tf.tensor(randomArray(4, 73), [2, 2])),
    ]);
  });

  await t.test('saved tensors share memory: clones stay valid after the original is gone', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomArray(64, 67), [8, 8]);
    const copy = tf.clone(x);
    const same = x.cast('float32');
    const want = await x.data();
    x.dispose();
    assert.deepEqual(await copy.data(), want);
    assert.deepEqual(await same.data(), want);
    tf.dispose([copy, same]);
  });

  await t.test('routing is reversible and the originals are what it replaces', async () => {
    await tf.setBackend('wasm');
    unregisterFastKernels('wasm');
    assert.equal(fastKernelsRegistered('wasm'), false);
    assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined, 'wasm has no filter gradient of its own');
    // the original transposed matMul still agrees with the routed one
    const a = tf.tensor(randomArray(20 * 9, 41), [20, 9]);
    const before = await tf.matMul(a, a, true, false).data();
    registerFastKernels('wasm');
    const after = await tf.matMul(a, a, true, false).data();
    assertClose(after as Float32Array, before as Float32Array, 'tA before/after');
    a.dispose();
  });

  await t.test('no tensor memory leaks from routed kernels (engine and backend data)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomArray(2 * 8 * 8 * 3, 51), [2, 8, 8, 3]);
    const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, 52), [3, 3, 3, 4]);
    const q = tf.tensor(randomArray(4 * 40 * 30, 53), [4, 40, 30]);
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same').sum();
    const g = (a: tf.Tensor): tf.Tensor => tf.matMul(a, a, false, true).sum();
    const work = (): void => {
      tf.dispose(tf.grads(f)([x, w]));
      tf.dispose(tf.grads(g)([q]));
      tf.dispose(tf.tidy(() => tf.matMul(w.reshape([27, 4]), w.reshape([27, 4]), true, false)));
    };
    work();
    const bytes = tf.memory().numBytes;
    const dataIds = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) work();
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(tf.backend().numDataIds(), dataIds, 'backend buffers of intermediates are freed');
    tf.dispose([x, w, q]);
  });
});

test('selectBackend: auto falls back to wasm here; unknown and unavailable names are bad input', async () => {
  const info = await selectBackend('auto');
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm'].includes(info.name));
  if (info.name === 'wasm') {
    assert.ok(info.skipped.some((s) => s.name === 'tensorflow'), 'tfjs-node attempt recorded');
    assert.deepEqual(info.details['fastKernels'], [tf.BatchMatMul, tf._FusedMatMul, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.Identity, tf.Cast, tf.Tile, tf.Concat, tf.SplitV, tf.Sum]);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info, 'provenance is plain JSON');
  const cpu = await selectBackend('cpu');
  assert.equal(cpu.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(selectBackend('nope' as 'cpu'), (e: Error & { code?: string }) => e.code === 'BACKEND_UNKNOWN');
  if (info.name === 'wasm') {
    await assert.rejects(selectBackend('tensorflow'), (e: Error & { code?: string; kind?: string }) => e.code === 'BACKEND_UNAVAILABLE' && e.kind === 'bad-input');
  }
});
