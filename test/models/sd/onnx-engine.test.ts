// The ONNX Runtime engine (Optimum's ONNX layout of the tiny SD 2 folder) against the tfjs engine and diffusers'
// goldens: each network, and whole samples from the goldens' initial latents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../../../src/errors.js';
import { selectBackend } from '../../../src/tensor/index.js';
import { loadSdEngine, resolveSdEngine } from '../../../src/pipelines/sd/load-engine.js';
import { decodeLatents, sampleLatents, type SdSampleOptions } from '../../../src/pipelines/sd/sample.js';
import { fromRoot } from '../../helpers/paths.js';
import { nhwc, readGolden, relativeError, tensorOf } from './golden.js';
import { tinyOnnxFolder } from './onnx-folder.js';

const TOLERANCE = 1e-4;
const TFJS_DIR = fromRoot('test/fixtures/sd/tiny-sd2');

await selectBackend('wasm');
const onnxDir = tinyOnnxFolder();
const onnx = await loadSdEngine(onnxDir);
const tfjs = await loadSdEngine(TFJS_DIR);

function within(label: string, actual: tf.Tensor, expected: tf.Tensor, t: { diagnostic: (s: string) => void }): void {
  const err = relativeError(actual, expected);
  t.diagnostic(`${label}: relative error ${err.toExponential(2)}`);
  assert.ok(err < TOLERANCE, `${label}: relative error ${err}`);
}

test('auto picks onnx for a folder with unet/model.onnx, tfjs for a diffusers folder', () => {
  assert.equal(resolveSdEngine(onnxDir), 'onnx');
  assert.equal(resolveSdEngine(TFJS_DIR), 'tfjs');
  assert.equal(onnx.name, 'onnx');
  assert.deepEqual([onnx.latentChannels, onnx.sampleSize, onnx.vaeScale], [tfjs.latentChannels, tfjs.sampleSize, tfjs.vaeScale]);
});

test('text encoder: the ONNX graph equals the tfjs engine and the open_clip golden', async (t) => {
  const g = readGolden('sample_ddim25');
  const prompts = [String(g.meta.prompt), ''];
  const [a, b] = [await onnx.encodePrompts(prompts), await tfjs.encodePrompts(prompts)];
  within('onnx vs tfjs', a, b, t);
  const golden = tf.concat([tensorOf(g, 'prompt_embeds'), tensorOf(g, 'negative_prompt_embeds')]);
  within('onnx vs golden', a, golden, t);
  tf.dispose([a, b, golden]);
});

test('UNet: the ONNX graph equals the tfjs engine and diffusers, per-sample and shared timesteps', async (t) => {
  const g = readGolden('unet_sd2');
  const x = nhwc(g, 'latents');
  const cond = tensorOf(g, 'encoder_hidden_states');
  for (const [label, ts, name] of [['t = [999, 37]', [999, 37], 'sample'], ['t = 500', 500, 'sample_t500']] as const) {
    const [a, b, golden] = [await onnx.unet(x, ts, cond), await tfjs.unet(x, ts, cond), nhwc(g, name)];
    within(`${label} onnx vs tfjs`, a, b, t);
    within(`${label} onnx vs golden`, a, golden, t);
    tf.dispose([a, b, golden]);
  }
  tf.dispose([x, cond]);
});

test('VAE decode: the ONNX graph (latents / scaling_factor first) equals the tfjs engine and diffusers', async (t) => {
  const g = readGolden('vae');
  const latents = nhwc(g, 'latents');
  const [a, b, golden] = [await onnx.decode(latents), await tfjs.decode(latents), nhwc(g, 'image')];
  within('onnx vs tfjs', a, b, t);
  within('onnx vs golden', a, golden, t);
  tf.dispose([latents, a, b, golden]);
});

const samples: Array<[string, string, SdSampleOptions['sampler'], string]> = [
  ['DDIM 25 steps, CFG 4.5', 'sample_ddim25', 'ddim', 'initial_latents'],
  ['DPM-Solver++(2M) 25 steps, CFG 4.5', 'sample_dpmpp2m25', 'dpm-solver++2m', 'initial_latents'],
  ["SwiftBrush's one step (ᾱ_T 0.0047)", 'sample_onestep', 'one-step', 'noise'],
];
for (const [label, file, sampler, start] of samples) {
  test(`${label}: the ONNX engine's sample equals the tfjs engine's and diffusers' (latents and image)`, async (t) => {
    const g = readGolden(file);
    const noise = nhwc(sampler === 'one-step' ? g : readGolden('sample_ddim25'), start);
    const o: SdSampleOptions = { sampler, steps: 25, guidance: 4.5, oneStepAlphaBar: 0.0047, seed: 0 };
    const prompts = [String(g.meta.prompt ?? readGolden('sample_ddim25').meta.prompt)];
    const before = tf.memory().numTensors;
    const a = await sampleLatents(onnx, prompts, noise, o);
    const b = await sampleLatents(tfjs, prompts, noise, o);
    within('latents onnx vs tfjs', a, b, t);
    const golden = tf.tidy(() => nhwc(g, 'latents'));
    within('latents onnx vs golden', a, golden, t);
    const image = await decodeLatents(onnx, a);
    const goldenImage = tf.tidy(() => nhwc(g, sampler === 'one-step' ? 'image01' : 'image'));
    if (sampler === 'one-step') within('image01 onnx vs golden', image, goldenImage, t);
    else {
      const raw = await onnx.decode(a);
      within('image onnx vs golden', raw, goldenImage, t);
      raw.dispose();
    }
    tf.dispose([a, b, golden, image, goldenImage]);
    assert.equal(tf.memory().numTensors, before, 'the loop leaves no tensor behind');
    noise.dispose();
  });
}

test('a folder without unet/model.onnx, or whose UNet has other input names: one BadInputError line naming the file and the expected names', async () => {
  const noUnet = tinyOnnxFolder();
  rmSync(join(noUnet, 'unet', 'model.onnx'));
  await assert.rejects(loadSdEngine(noUnet, { engine: 'onnx' }), (err: unknown) => {
    assert.ok(err instanceof BadInputError);
    assert.equal(err.code, 'SD_ONNX_MISSING');
    assert.match(err.message, /unet\/model\.onnx: no such file; .*inputs sample, timestep, encoder_hidden_states → outputs out_sample/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
  const wrong = tinyOnnxFolder();
  copyFileSync(join(wrong, 'vae_decoder', 'model.onnx'), join(wrong, 'unet', 'model.onnx'));
  await assert.rejects(loadSdEngine(wrong), (err: unknown) => {
    assert.ok(err instanceof BadInputError);
    assert.equal(err.code, 'SD_ONNX_IO');
    assert.match(err.message, /unet\/model\.onnx: inputs latent_sample → outputs sample; expected inputs sample, timestep, encoder_hidden_states → outputs out_sample/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

test('dispose releases the sessions', async () => {
  await onnx.dispose();
  await tfjs.dispose();
});
