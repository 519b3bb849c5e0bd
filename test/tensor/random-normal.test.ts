import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { fillRandomNormal, randomNormal, type RandomNormalDtype } from '../../src/tensor/random-normal.js';

// randomNormal against tf.randomNormal, the op it replaces: the same bits for every seed, shape, mean, std and
// dtype, on cpu and on wasm (the values are drawn in JS either way; the tensor is written through the backend)

/** the raw bits of a tensor's values (float32 read as uint32 so that −0 and NaN payloads count too) */
const bits = (t: tf.Tensor): Uint32Array => {
  const data = t.dataSync();
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
};

const assertSame = (shape: number[], mean: number, std: number, dtype: RandomNormalDtype | undefined, seed: number | undefined, label: string): void => {
  const want = tf.randomNormal(shape, mean, std, dtype, seed);
  const got = randomNormal(shape, mean, std, dtype, seed);
  try {
    assert.deepEqual(got.shape, want.shape, `${label}: shape`);
    assert.equal(got.dtype, want.dtype, `${label}: dtype`);
    const g = bits(got);
    const w = bits(want);
    assert.equal(g.length, w.length, `${label}: size`);
    for (let i = 0; i < w.length; i++) {
      if (g[i] !== w[i]) assert.fail(`${label}: value ${i} differs: ${got.dataSync()[i]} vs tfjs ${want.dataSync()[i]}`);
    }
  } finally {
    got.dispose();
    want.dispose();
  }
};

/** seeds of every kind the code base passes (31-bit stream seeds, −1 for 0, fixed preview seeds) and odd ones */
const seeds = (): number[] => {
  const out = [1, -1, 7, 12345, 2 ** 31 - 1, 2 ** 31, 2 ** 53 + 2, 0.5, -0.25, 123456789.123, 1e21, 1e-7, -2147483648];
  let s = 0x9e3779b9;
  while (out.length < 200) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s >>> 1) + 1);
  }
  return out;
};

const BACKENDS = ['cpu', 'wasm'] as const;
const useBackend = async (backend: (typeof BACKENDS)[number]): Promise<void> => {
  if (backend === 'wasm') await selectBackend('wasm');
  else await tf.setBackend('cpu');
};

for (const backend of BACKENDS) {
  test(`randomNormal = tf.randomNormal bit for bit over 200 seeds, float32 and int32 (${backend})`, async () => {
    await useBackend(backend);
    for (const seed of seeds()) {
      assertSame([5, 7, 3], 0, 1, 'float32', seed, `seed ${seed}`);
      assertSame([4, 9], 0, 1, undefined, seed, `seed ${seed} default dtype`);
      assertSame([3, 11], -2.5, 12.75, 'int32', seed, `seed ${seed} int32`);
    }
  });

  test(`randomNormal = tf.randomNormal for odd shapes and sizes (${backend})`, async () => {
    await useBackend(backend);
    const shapes = [[], [1], [2], [3], [0], [4, 0, 2], [1, 1, 1, 1], [3, 3, 3], [2, 5, 7, 3], [1, 32, 32, 3], [16, 32, 32, 3]];
    for (const shape of shapes) {
      for (const seed of [1, 7, 987654321]) {
        assertSame(shape, 0, 1, 'float32', seed, `shape [${shape}] seed ${seed}`);
        assertSame(shape, 0, 3, 'int32', seed, `shape [${shape}] seed ${seed} int32`);
      }
    }
  });

  test(`randomNormal = tf.randomNormal for means and stds other than 0 and 1 (${backend})`, async () => {
    await useBackend(backend);
    const moments: [number, number][] = [
      [0.5, 0.2],
      [-3, 7],
      [1e6, 1e-3],
      [0, 1 / Math.sqrt(37)],
      [0, 0],
      [2, -1.5],
      [-0, 0],
      [Infinity, 1],
      // x and y are NaN whenever v > 0: tfjs then drops y and draws a fresh pair for the next value
      [-Infinity, Infinity],
      [NaN, 1],
    ];
    for (const [mean, std] of moments) {
      for (const seed of [3, 42, 1234567]) {
        assertSame([7, 13], mean, std, 'float32', seed, `mean ${mean} std ${std} seed ${seed}`);
        assertSame([7, 13], mean, std, 'int32', seed, `mean ${mean} std ${std} seed ${seed} int32`);
      }
    }
    // past several of randomNormal's 1024-pair chunks, with pairs that give one value (y NaN) and pairs that give two
    assertSame([3, 1001], -Infinity, Infinity, 'float32', 5, 'dropped NaN ys across chunks');
    assertSame([2, 2049], 0.25, 3, 'float32', 6, 'odd size across chunks');
  });
}

/**
 * the doubles tf.randomNormal computes before its Float32Array store: its TensorBuffer allocates with
 * `new Float32Array(size)` from the global, so for one call the global is a Float64Array that keeps them
 */
const tfjsDoubles = (shape: number[], mean: number, std: number, seed: number): Float64Array => {
  const float32 = globalThis.Float32Array;
  let captured: Float64Array | undefined;
  class Capture extends Float64Array {
    constructor(size: number) {
      super(size);
      captured ??= this;
    }
  }
  globalThis.Float32Array = Capture as unknown as Float32ArrayConstructor;
  let t: tf.Tensor | undefined;
  try {
    t = tf.randomNormal(shape, mean, std, 'float32', seed);
  } finally {
    globalThis.Float32Array = float32;
    t?.dispose();
  }
  assert.ok(captured, 'tfjs allocated its buffer with new Float32Array');
  return captured;
};

test('fillRandomNormal: the doubles before the float32 store equal tfjs\'s, bit for bit (cpu)', async () => {
  await tf.setBackend('cpu');
  const moments: [number, number][] = [
    [0, 1],
    [0.3, 1.7],
    [-3, 7.123],
    [0, 1 / Math.sqrt(37)],
    [1e6, 1e-3],
  ];
  for (const seed of seeds().slice(0, 60)) {
    for (const [mean, std] of moments) {
      const shape = [5, 7, 3];
      const want = tfjsDoubles(shape, mean, std, seed);
      const got = new Float64Array(want.length);
      fillRandomNormal(got, mean, std, false, seed);
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(got[i], want[i])) assert.fail(`seed ${seed} mean ${mean} std ${std}: double ${i} differs: ${got[i]} vs tfjs ${want[i]}`);
      }
    }
  }
});

test('randomNormal = tf.randomNormal unseeded (0, NaN, undefined) given the same Math.random', async () => {
  await tf.setBackend('cpu');
  const original = Math.random;
  try {
    for (const seed of [undefined, 0, NaN]) {
      for (const fixed of [0.123456789, 0.5, 0.999]) {
        Math.random = () => fixed;
        assertSame([6, 5], 0, 1, 'float32', seed, `seed ${seed} Math.random ${fixed}`);
        assertSame([6, 5], 1, 4, 'int32', seed, `seed ${seed} Math.random ${fixed} int32`);
      }
    }
  } finally {
    Math.random = original;
  }
});

test('randomNormal with a seed reads no Math.random; unseeded it reads it once, as tfjs', async () => {
  await tf.setBackend('cpu');
  const original = Math.random;
  let calls = 0;
  try {
    Math.random = () => {
      calls++;
      return 0.25;
    };
    randomNormal([3, 3], 0, 1, 'float32', 5).dispose();
    assert.equal(calls, 0);
    randomNormal([3, 3], 0, 1, 'float32').dispose();
    assert.equal(calls, 1);
  } finally {
    Math.random = original;
  }
});

test('randomNormal refuses what tf.randomNormal refuses', async () => {
  await tf.setBackend('cpu');
  for (const shape of [[-1], [2.5], [NaN]]) {
    assert.throws(() => tf.randomNormal(shape, 0, 1, 'float32', 1), /positive integers/);
    assert.throws(() => randomNormal(shape, 0, 1, 'float32', 1), /positive integers/);
  }
  assert.throws(() => tf.randomNormal([2], 0, 1, 'bool' as RandomNormalDtype, 1), /Unsupported data type bool/);
  assert.throws(() => randomNormal([2], 0, 1, 'bool' as RandomNormalDtype, 1), /Unsupported data type bool/);
});

test('randomNormal inside tf.tidy: the result is kept when returned, disposed otherwise, as with tf.randomNormal', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    randomNormal([4], 0, 1, 'float32', 9);
  });
  assert.equal(tf.memory().numTensors, before);
  const kept = tf.tidy(() => randomNormal([4], 0, 1, 'float32', 9));
  assert.equal(tf.memory().numTensors, before + 1);
  kept.dispose();
});
