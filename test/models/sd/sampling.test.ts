// Whole SD samples against diffusers' own scheduler loops (StableDiffusionPipeline's CFG loop) and SwiftBrush's
// one-step inference, on the tiny SD 2 folder, from the same initial latents and text embeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import { loadSafetensors } from '../../../src/weights/safetensors.js';
import { TorchLayoutWeights } from '../../../src/nn/torch-layout.js';
import { parseUNetConfig } from '../../../src/models/sd/unet-config.js';
import { sdVaeDecode } from '../../../src/models/sd/vae.js';
import { parseVaeConfig } from '../../../src/models/sd/vae-config.js';
import { scaledLinearSchedule } from '../../../src/diffusion/schedule.js';
import { ddimSample } from '../../../src/diffusion/samplers/ddim.js';
import { dpmSolverPlusPlus2M } from '../../../src/diffusion/samplers/dpm-solver.js';
import { guided } from '../../../src/diffusion/guidance.js';
import { sdUNetDenoiser } from '../../../src/pipelines/sd/denoiser.js';
import { oneStepLatents, SWIFTBRUSH_RELEASED_ALPHA_BAR } from '../../../src/pipelines/sd/one-step.js';
import { fromRoot } from '../../helpers/paths.js';
import { nhwc, readGolden, relativeError, tensorOf } from './golden.js';

// a 25-step loop compounds the UNet's float32 differences; 1e-4 relative is still the bar
const TOLERANCE = 1e-4;

const fixture = (...parts: string[]): string => fromRoot('test/fixtures/sd/tiny-sd2', ...parts);
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const torchWeights = (file: string): TorchLayoutWeights => {
  const { tensors } = loadSafetensors(file);
  return new TorchLayoutWeights((name) => tensors[name]?.clone(), file);
};

await selectBackend('wasm');
const unet = { layer: { weights: torchWeights(fixture('unet/diffusion_pytorch_model.safetensors')) }, config: parseUNetConfig('unet/config.json', readJson(fixture('unet/config.json'))).config };
const vae = { layer: { weights: torchWeights(fixture('vae/diffusion_pytorch_model.safetensors')) }, config: parseVaeConfig('vae/config.json', readJson(fixture('vae/config.json'))).config };
// SD 2.1-base's scheduler config (scaled_linear 0.00085–0.012, 1000 steps) is the engine's default schedule
const schedule = scaledLinearSchedule();

// the DPM-Solver and v-prediction goldens start from the DDIM golden's latents and text embeddings
const inputs = readGolden('sample_ddim25');

function within(label: string, actual: tf.Tensor, expected: tf.Tensor, t: { diagnostic: (s: string) => void }): void {
  const err = relativeError(actual, expected);
  t.diagnostic(`${label}: relative error ${err.toExponential(2)}`);
  assert.ok(err < TOLERANCE, `${label}: relative error ${err}`);
}

for (const [sampler, file] of [['DDIM', 'sample_ddim25'], ['DPM-Solver++(2M)', 'sample_dpmpp2m25']] as const) {
  test(`${sampler} 25 steps with CFG 4.5 equals diffusers' pipeline loop (latents and decoded image)`, async (t) => {
    const g = readGolden(file);
    const options = {
      model: guided(sdUNetDenoiser(unet.layer, unet.config), { scale: 4.5, nullCond: tensorOf(inputs, 'negative_prompt_embeds') }),
      cond: tensorOf(inputs, 'prompt_embeds'),
      schedule,
      steps: 25,
      xT: nhwc(g, 'initial_latents'),
    };
    const latents = (sampler === 'DDIM' ? ddimSample(options) : dpmSolverPlusPlus2M(options)) as tf.Tensor4D;
    within('latents', latents, nhwc(g, 'latents'), t);
    within('image', sdVaeDecode(vae.layer, vae.config, latents), nhwc(g, 'image'), t);
  });
}

test("DDIM 4 steps on SD 2.1-768's v_prediction config equals diffusers' loop", async (t) => {
  const g = readGolden('sample_ddim4_vpred');
  const latents = ddimSample({
    model: guided(sdUNetDenoiser(unet.layer, unet.config), { scale: 4.5, nullCond: tensorOf(inputs, 'negative_prompt_embeds') }),
    cond: tensorOf(inputs, 'prompt_embeds'),
    schedule,
    steps: 4,
    xT: nhwc(g, 'initial_latents'),
    prediction: 'v_prediction',
  });
  within('latents', latents, nhwc(g, 'latents'), t);
});

test("SwiftBrush's one-step sample: the released ᾱ_T = 0.0047 and the schedule's ᾱ_999 both equal the official inference code", async (t) => {
  const g = readGolden('sample_onestep');
  const noise = nhwc(g, 'noise');
  const embeds = tensorOf(g, 'prompt_embeds') as tf.Tensor3D;
  const released = oneStepLatents({ unet, schedule, alphaBar: SWIFTBRUSH_RELEASED_ALPHA_BAR }, noise, embeds);
  within('latents (ᾱ_T = 0.0047)', released, nhwc(g, 'latents'), t);
  within('image (ᾱ_T = 0.0047)', sdVaeDecode(vae.layer, vae.config, released), nhwc(g, 'image'), t);
  const scheduled = oneStepLatents({ unet, schedule, alphaBar: 'schedule' }, noise, embeds);
  within("latents (the schedule's ᾱ_999)", scheduled, nhwc(g, 'latents_sched'), t);
  // the two constants give visibly different samples, so the setting matters
  assert.ok(relativeError(released, nhwc(g, 'latents_sched')) > 1e-3);
});
