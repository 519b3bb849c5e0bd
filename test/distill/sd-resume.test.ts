import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { distill, type DistillModels } from '../../src/distill/trainer.js';
import { tempDir } from '../helpers/temp.js';
import { sdStep } from './sd-golden.js';

await tf.setBackend('cpu');

const weights = (params: Record<string, tf.Variable>): number[] => Object.keys(params).sort().flatMap((k) => Array.from(params[k]!.dataSync()));

/** the tiny diffusers UNet as teacher, a fixed "text encoder" (each caption's embedding a function of its length) */
function models(): DistillModels {
  const { models: m } = sdStep('epsilon', 'eps', true);
  const [, len, dim] = m.nullText.shape;
  const encodeText = (captions: readonly string[]): tf.Tensor3D =>
    tf.tidy(() => tf.tensor3d(captions.flatMap((c) => Array.from({ length: len * dim }, (_, i) => Math.sin(c.length * 0.7 + i))), [captions.length, len, dim]));
  return { ...m, encodeText };
}
const prompts = (step: number, batch: number): string[] => Array.from({ length: batch }, (_, i) => `a caption ${'x'.repeat((step * 7 + i) % 11)}`);

test('latent VSD on the diffusers UNet: killed after step 2 and run again, it ends bit for bit where a straight run does', async () => {
  const settings = { ...sdStep('epsilon', 'eps', true).settings, steps: 4, checkpointEvery: 1, studentLr: 1e-3, lora: { ...sdStep('epsilon', 'eps', true).settings.lora, lr: 1e-2 } };
  const straight = await distill(models(), settings, prompts, tempDir());
  const dir = tempDir();
  const stop = new AbortController();
  await assert.rejects(distill(models(), settings, prompts, dir, { signal: stop.signal, progress: (step) => step === 2 && stop.abort(new Error('killed')) }), /killed/);
  const resumed = await distill(models(), settings, prompts, dir);
  assert.equal(resumed.startedFrom, 2);
  assert.deepEqual(weights(resumed.student), weights(straight.student));
  assert.deepEqual(weights(resumed.ema), weights(straight.ema));
  assert.deepEqual(weights(resumed.lora!.params), weights(straight.lora!.params));
  assert.notDeepEqual(weights(straight.student), weights(models().teacher), 'training moved the student');
});
