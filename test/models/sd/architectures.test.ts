// The SD architectures against diffusers / open_clip on the tiny folders of test/fixtures/sd (goldens: test/golden/sd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import { loadSafetensors } from '../../../src/weights/safetensors.js';
import { TorchLayoutWeights } from '../../../src/nn/torch-layout.js';
import { sdUNetForward } from '../../../src/models/sd/unet.js';
import { parseUNetConfig } from '../../../src/models/sd/unet-config.js';
import { sdVaeDecode, sdVaeEncode } from '../../../src/models/sd/vae.js';
import { parseVaeConfig } from '../../../src/models/sd/vae-config.js';
import { sdTextEncode } from '../../../src/models/sd/text-encoder.js';
import { parseTextEncoderConfig } from '../../../src/models/sd/text-encoder-config.js';
import { componentWeights, TEXT_ENCODER_BUFFERS } from '../../../src/models/sd/component-weights.js';
import { findComponentWeights } from '../../../src/models/sd/weight-files.js';
import { fromRoot } from '../../helpers/paths.js';
import { BadInputError } from '../../../src/errors.js';
import { nhwc, readGolden, relativeError, tensorOf } from './golden.js';

const TOLERANCE = 1e-4;

const fixture = (...parts: string[]): string => fromRoot('test/fixtures/sd', ...parts);
const rawConfig = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** the F32 weights of one component folder, read the way the engine reads torch state dicts */
function weightsOf(file: string): { weights: TorchLayoutWeights; names: string[] } {
  const { tensors } = loadSafetensors(file);
  const weights = new TorchLayoutWeights((name) => tensors[name]?.clone(), file);
  return { weights, names: Object.keys(tensors) };
}

for (const backend of ['cpu', 'wasm'] as const) for (const [label, folder] of [['SD 2 (linear projections, per-block heads)', 'tiny-sd2/unet'], ['SD 1 (conv projections, one head count, flip_sin_to_cos off, freq_shift 1)', 'sd1-parts/unet']] as const) {
  test(`UNet2DConditionModel on ${backend}, ${label}: diffusers' output within 1e-4 at t = 999, 37 and 500`, async (t_) => {
    await selectBackend(backend);
    const golden = readGolden(folder.startsWith('tiny-sd2') ? 'unet_sd2' : 'unet_sd1');
    const cfg = parseUNetConfig(fixture(folder, 'config.json'), rawConfig(fixture(folder, 'config.json'))).config;
    const { weights, names } = weightsOf(fixture(folder, 'diffusion_pytorch_model.safetensors'));
    const latents = nhwc(golden, 'latents');
    const context = tensorOf(golden, 'encoder_hidden_states') as tf.Tensor3D;
    const t = [...(tensorOf(golden, 'timesteps').dataSync() as Int32Array)];
    const out = sdUNetForward({ weights }, cfg, latents, t, context);
    const err = relativeError(out, nhwc(golden, 'sample'));
    t_.diagnostic(`relative error ${err.toExponential(2)}`);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
    const out500 = sdUNetForward({ weights }, cfg, latents, [500], context);
    const err500 = relativeError(out500, nhwc(golden, 'sample_t500'));
    assert.ok(err500 < TOLERANCE, `relative error at t = 500: ${err500}`);
    assert.deepEqual(weights.unused(names), [], 'every tensor of the file is used by the architecture');
    weights.dispose();
  });
}

test('AutoencoderKL: decode (latents / scaling_factor) and encode (mean, std) within 1e-4 of diffusers', async (t) => {
  await selectBackend('cpu');
  const golden = readGolden('vae');
  const cfg = parseVaeConfig(fixture('tiny-sd2/vae/config.json'), rawConfig(fixture('tiny-sd2/vae/config.json'))).config;
  const { weights, names } = weightsOf(fixture('tiny-sd2/vae/diffusion_pytorch_model.safetensors'));
  const image = sdVaeDecode({ weights }, cfg, nhwc(golden, 'latents'));
  t.diagnostic(`decode ${relativeError(image, nhwc(golden, 'image')).toExponential(2)}`);
  assert.ok(relativeError(image, nhwc(golden, 'image')) < TOLERANCE, `decode: ${relativeError(image, nhwc(golden, 'image'))}`);
  const { mean, std } = sdVaeEncode({ weights }, cfg, nhwc(golden, 'x'));
  t.diagnostic(`encode mean ${relativeError(mean, nhwc(golden, 'mean')).toExponential(2)}, std ${relativeError(std, nhwc(golden, 'std')).toExponential(2)}`);
  assert.ok(relativeError(mean, nhwc(golden, 'mean')) < TOLERANCE, `mean: ${relativeError(mean, nhwc(golden, 'mean'))}`);
  assert.ok(relativeError(std, nhwc(golden, 'std')) < TOLERANCE, `std: ${relativeError(std, nhwc(golden, 'std'))}`);
  assert.deepEqual(weights.unused(names), []);
  weights.dispose();
});

for (const [label, folder, goldenName] of [['SD 2 (gelu, F16 weights with an I64 position_ids buffer)', 'tiny-sd2', 'text_encoder_sd2'], ['SD 1 (quick_gelu)', 'sd1-parts', 'text_encoder_sd1']] as const) {
  test(`CLIPTextModel, ${label}: last_hidden_state within 1e-4 of the reference for four prompts`, async (t) => {
    await selectBackend('wasm');
    const golden = readGolden(goldenName);
    const dir = fixture(folder, 'text_encoder');
    const component = {
      name: 'text_encoder' as const,
      dir,
      configPath: join(dir, 'config.json'),
      config: parseTextEncoderConfig(join(dir, 'config.json'), rawConfig(join(dir, 'config.json'))).config,
      variant: undefined,
      weights: findComponentWeights(dir, 'text_encoder', 'model'),
    };
    const { weights, view } = componentWeights(component, 'text_model.');
    const hidden = sdTextEncode({ weights }, component.config, tensorOf(golden, 'input_ids') as tf.Tensor2D);
    const err = relativeError(hidden, tensorOf(golden, 'last_hidden_state'));
    t.diagnostic(`relative error ${err.toExponential(2)}`);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
    assert.deepEqual(weights.unused(view.names()).filter((n) => !TEXT_ENCODER_BUFFERS.includes(n)), []);
    weights.dispose();
    view.close();
  });
}

test('a tensor whose shape or name disagrees with the config is one line naming the file and the tensor', async () => {
  await selectBackend('cpu');
  const folder = fixture('tiny-sd2/unet');
  const cfg = parseUNetConfig(join(folder, 'config.json'), rawConfig(join(folder, 'config.json'))).config;
  const { tensors } = loadSafetensors(join(folder, 'diffusion_pytorch_model.safetensors'));
  const golden = readGolden('unet_sd2');
  const run = (read: (name: string) => tf.Tensor | undefined): unknown =>
    sdUNetForward({ weights: new TorchLayoutWeights(read, 'unet/diffusion_pytorch_model.safetensors') }, cfg, nhwc(golden, 'latents'), [999, 37], tensorOf(golden, 'encoder_hidden_states') as tf.Tensor3D);
  assert.throws(
    () => run((name) => (name === 'conv_in.weight' ? tf.zeros([8, 4, 1, 1]) : tensors[name]?.clone())),
    (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_MISMATCH' && e.message === 'unet/diffusion_pytorch_model.safetensors: conv_in.weight has shape [8, 4, 1, 1], the config needs [8, 4, 3, 3]',
  );
  assert.throws(
    () => run((name) => (name === 'conv_out.bias' ? undefined : tensors[name]?.clone())),
    (e: unknown) => e instanceof BadInputError && e.message === 'unet/diffusion_pytorch_model.safetensors: no tensor conv_out.bias (the architecture needs [4])',
  );
});
