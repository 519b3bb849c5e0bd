import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { Xoshiro128ss } from '../data/random.js';
import type { SyntheticImage } from '../data/synthetic-set.js';

/** A split as one NHWC float tensor, normalised as the extractors see images: (x − 128) / 128. */
export function imagesTensor(images: readonly SyntheticImage[]): tf.Tensor4D {
  const first = images[0];
  if (!first) throw new Error('no images');
  const { width, height } = first;
  const data = new Float32Array(images.length * width * height * 3);
  images.forEach((img, i) => {
    const base = i * width * height * 3;
    for (let j = 0; j < img.pixels.length; j++) data[base + j] = ((img.pixels[j] as number) - 128) / 128;
  });
  return tf.tensor4d(data, [images.length, height, width, 3]);
}

/** Epoch after epoch of shuffled index batches (the last short batch dropped), from a seeded generator. */
export function* shuffledBatches(n: number, batchSize: number, epochs: number, seed: number): Generator<{ epoch: number; indices: Int32Array }> {
  const rng = Xoshiro128ss.fromSeed(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    for (let start = 0; start + batchSize <= n; start += batchSize) yield { epoch, indices: order.slice(start, start + batchSize) };
  }
}

/**
 * Gaussian pixel noise of a per-image standard deviation drawn from U(0, maxStd) (normalised units; 0.1 ≈ 13 grey
 * levels), seeded by the step. Generated images carry such residual noise; networks that never saw any read noisy
 * samples as nothing at all. maxStd 0 returns the batch unchanged.
 */
export function withPixelNoise(x: tf.Tensor4D, maxStd: number, seed: number): tf.Tensor4D {
  if (maxStd <= 0) return x;
  return tf.tidy(() => {
    const n = x.shape[0];
    const std = tf.mul(tf.randomUniform([n, 1, 1, 1], 0, maxStd, 'float32', seed), tf.ones([n, 1, 1, 1]));
    return tf.add(x, tf.mul(std, randomNormal(x.shape, 0, 1, 'float32', seed + 1))) as tf.Tensor4D;
  });
}
