import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { sampleNoise } from '../../src/diffusion/sample-noise.js';
import { streamFor, tfSeed } from '../../src/distill/trainer.js';

await tf.setBackend('cpu');

const rows = (seed: number): string[] => {
  const data = Array.from(sampleNoise(seed, 0, 16, [2, 2, 1]).dataSync());
  return Array.from({ length: 16 }, (_, i) => data.slice(4 * i, 4 * i + 4).join(','));
};

test('each seed generates from its own starting noise, not another seed\'s in another order', () => {
  const [a, b, c] = [rows(0), rows(1), rows(2)];
  for (const [x, y] of [[a, b], [a, c], [b, c]] as const) assert.equal(x.filter((r) => y.includes(r)).length, 0);
  // and a sample's noise does not depend on the batch it is drawn in
  assert.deepEqual(Array.from(sampleNoise(0, 8, 8, [2, 2, 1]).dataSync()), Array.from(sampleNoise(0, 0, 16, [2, 2, 1]).dataSync()).slice(32));
});

test('each seed trains on its own noise, timesteps and prompts, whatever the step', () => {
  const seeds = (seed: number): Set<number> => new Set(Array.from({ length: 300 }, (_, k) => tfSeed(seed, 1 + (k >> 1), 1 + 2 * (k & 1))));
  const [s0, s1] = [seeds(0), seeds(1)];
  assert.equal([...s0].filter((x) => s1.has(x)).length, 0);
  assert.notEqual(streamFor(1, 4, 2).nextUint32(), streamFor(0, 5, 2).nextUint32());
});
