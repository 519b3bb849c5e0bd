import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { RUN_STREAM, runTfjsSeed } from '../data/streams.js';

/**
 * Per-sample starting noise from (cell seed, sample index): the same images whatever the batch size, in the generate
 * stage and in `vsdlab sample` alike.
 */
export const sampleNoise = (seed: number, first: number, count: number, shape: readonly [number, number, number]): tf.Tensor4D =>
  tf.tidy(() => tf.concat(Array.from({ length: count }, (_, i) => randomNormal([1, ...shape], 0, 1, 'float32', runTfjsSeed(seed, first + i, RUN_STREAM.sampleNoise)))) as tf.Tensor4D);
