// The released SwiftBrush student as a `distill.enabled: false` cell: the teacher rows' one-step sample with
// generate.guidance_scale 1 and generate.one_step_alpha_bar 0.0047 is the official infer.py computation (noise at
// t = 999 through the UNet, x̂0 with ᾱ_T = 0.0047, no guidance, VAE), checked against the golden that
// tools/sd/make_sd_goldens.py made with diffusers from that code, on the tiny SD 2 folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import { loadSdEngine } from '../../../src/pipelines/sd/load-engine.js';
import { sampleTeacher } from '../../../src/pipelines/sd/teacher-sampler.js';
import type { SdEngine } from '../../../src/pipelines/sd/engine.js';
import { fromRoot } from '../../helpers/paths.js';
import { nhwc, readGolden, relativeError, tensorOf } from './golden.js';

await selectBackend('wasm');
const engine = await loadSdEngine(fromRoot('test/fixtures/sd/tiny-sd2'), { engine: 'tfjs' });
const golden = readGolden('sample_onestep');

/** the engine with the golden's prompt embeddings in place of the text encoder (the golden starts from them) */
const withEmbeddings = (e: SdEngine, embeds: tf.Tensor3D): SdEngine => ({
  name: e.name, dir: e.dir, scheduler: e.scheduler, schedulerConfigPath: e.schedulerConfigPath, latentChannels: e.latentChannels,
  sampleSize: e.sampleSize, vaeScale: e.vaeScale, warnings: e.warnings, unet: e.unet,
  encodePrompts: async (prompts) => (prompts.length === 1 && prompts[0] === '' ? tf.zerosLike(embeds) : embeds.clone()),
  decode: (latents) => e.decode(latents), dispose: () => e.dispose(),
});

test("a one-step row with guidance 1 and one_step_alpha_bar 0.0047 is SwiftBrush's infer.py sample (within 1e-4 of the golden image)", async (t) => {
  const e = withEmbeddings(engine, tensorOf(golden, 'prompt_embeds') as tf.Tensor3D);
  const noise = nhwc(golden, 'noise');
  const image = await sampleTeacher(e, { sampler: 'one-step', steps: 1, guidance: 1, seed: 0, oneStepAlphaBar: 0.0047 }, noise, ['a caption']);
  const err = relativeError(image, nhwc(golden, 'image'));
  t.diagnostic(`relative error ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `relative error ${err}`);
  // without the override the row uses the schedule's ᾱ_999 (0.0046601): a different image, so the setting is applied
  const scheduled = await sampleTeacher(e, { sampler: 'one-step', steps: 1, guidance: 1, seed: 0 }, noise, ['a caption']);
  const apart = relativeError(scheduled, nhwc(golden, 'image'));
  t.diagnostic(`with the schedule's ᾱ_999: ${apart.toExponential(2)}`);
  assert.ok(apart > 100 * err, `the schedule's ᾱ gives ${apart}`);
});
