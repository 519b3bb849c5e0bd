import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';

// the routed conv input gradient reads the filter through a heap view on wasm. Its outputs must keep the bits
// they had when it read the filter through readSync's copy: the sha256 of each case's float32 bits, recorded from
// commit 79f8aac (before the heap view) with this same code

const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

const CONV_INPUT_GRAD_CASES: { dy: number[]; w: number[]; input: number[]; strides: number; pad: 'same' | 'valid' }[] = [
  { dy: [16, 8, 8, 32], w: [3, 3, 32, 32], input: [16, 16, 16, 32], strides: 2, pad: 'same' },
  { dy: [4, 16, 16, 16], w: [3, 3, 12, 16], input: [4, 16, 16, 12], strides: 1, pad: 'same' },
  { dy: [2, 7, 7, 5], w: [3, 3, 3, 5], input: [2, 15, 15, 3], strides: 2, pad: 'valid' },
  { dy: [2, 6, 6, 8], w: [1, 1, 4, 8], input: [2, 6, 6, 4], strides: 1, pad: 'same' },
];

/** sha256 of the input gradient's float32 bits, case by case */
const convInputGradHashes = (): string[] =>
  CONV_INPUT_GRAD_CASES.map((c, i) =>
    tf.tidy(() => {
      const dy = tf.tensor4d(values(c.dy.reduce((a, b) => a * b, 1), 10 + i), c.dy as [number, number, number, number]);
      const w = tf.tensor4d(values(c.w.reduce((a, b) => a * b, 1), 20 + i), c.w as [number, number, number, number]);
      const dx = tf.conv2dTranspose(dy, w, c.input as [number, number, number, number], c.strides, c.pad);
      return createHash('sha256').update(new Uint8Array((dx.dataSync() as Float32Array).buffer)).digest('hex');
    }),
  );

test('conv input gradient on wasm: the same bits as with the filter read through readSync (79f8aac)', async () => {
  await selectBackend('wasm');
  assert.deepEqual(convInputGradHashes(), GOLDEN);
});

const GOLDEN: string[] = [
  '606cb2fcbd0efa72d05ca440cacc9d7d6d142c0214280317393cac4f95b65048',
  '4bf5283adbf57521bf66209e51c2752c9e937f3d97bd747b297777b5fff9ff72',
  '085baaaa60d0207597124dd139118d18a0435686879ece0c68c7119bfcc9b53d',
  '274dbce350ac7e84f8d9d5552390d119b68dbe0aeeb073192db0686552ba4551',
];
