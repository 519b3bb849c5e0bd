import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUNetConfig } from '../../../src/models/sd/unet-config.js';
import { parseVaeConfig } from '../../../src/models/sd/vae-config.js';
import { parseTextEncoderConfig } from '../../../src/models/sd/text-encoder-config.js';
import { addVariant, weightCandidates } from '../../../src/models/sd/weight-files.js';
import { BadInputError } from '../../../src/errors.js';
import { TEXT_ENCODER, UNET, VAE } from './sd-folder.js';

const refused = (message: string) => (e: unknown): boolean => {
  assert.ok(e instanceof BadInputError, String(e));
  assert.equal(e.code, 'SD_CONFIG_UNSUPPORTED');
  assert.equal(e.message, message);
  return true;
};

test('a UNet block type the engine lacks is named with its index and what is implemented', () => {
  const down = [...UNET.down_block_types];
  down[2] = 'SimpleCrossAttnDownBlock2D';
  assert.throws(
    () => parseUNetConfig('unet/config.json', { ...UNET, down_block_types: down }),
    refused('unet/config.json  down_block_types[2]  "SimpleCrossAttnDownBlock2D" is not supported (supported: "CrossAttnDownBlock2D", "DownBlock2D")'),
  );
  assert.throws(() => parseUNetConfig('u', { ...UNET, up_block_types: ['UpBlock2D', 'AttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'] }), refused('u  up_block_types[1]  "AttnUpBlock2D" is not supported (supported: "UpBlock2D", "CrossAttnUpBlock2D")'));
  assert.throws(() => parseUNetConfig('u', { ...UNET, mid_block_type: 'UNetMidBlock2DSimpleCrossAttn' }), refused('u  mid_block_type  "UNetMidBlock2DSimpleCrossAttn" is not supported (supported: "UNetMidBlock2DCrossAttn")'));
  assert.throws(() => parseUNetConfig('u', { ...UNET, mid_block_type: null }), refused('u  mid_block_type  null is not supported (supported: "UNetMidBlock2DCrossAttn")'));
});

test('every UNet option the engine does not implement is refused away from its default, accepted at it', () => {
  const cases: Array<[string, unknown, unknown, string]> = [
    ['class_embed_type', 'timestep', null, 'null'],
    ['addition_embed_type', 'text_time', null, 'null'],
    ['addition_time_embed_dim', 256, null, 'null'],
    ['time_cond_proj_dim', 256, null, 'null'],
    ['num_class_embeds', 10, null, 'null'],
    ['resnet_time_scale_shift', 'scale_shift', 'default', '"default"'],
    ['conv_in_kernel', 7, 3, '3'],
    ['conv_out_kernel', 1, 3, '3'],
    ['dual_cross_attention', true, false, 'false'],
    ['only_cross_attention', true, false, 'false'],
    ['attention_type', 'gated', 'default', '"default"'],
    ['cross_attention_norm', 'group_norm', null, 'null'],
    ['encoder_hid_dim', 768, null, 'null'],
    ['encoder_hid_dim_type', 'text_proj', null, 'null'],
    ['num_attention_heads', 8, null, 'null'],
    ['time_embedding_type', 'fourier', 'positional', '"positional"'],
    ['timestep_post_act', 'silu', null, 'null'],
    ['act_fn', 'gelu', 'silu', '"silu"'],
    ['resnet_skip_time_act', true, false, 'false'],
    ['class_embeddings_concat', true, false, 'false'],
  ];
  for (const [key, bad, ok, implemented] of cases) {
    assert.throws(() => parseUNetConfig('u', { ...UNET, [key]: bad }), refused(`u  ${key}  ${JSON.stringify(bad)} is not supported (supported: ${implemented})`));
    parseUNetConfig('u', { ...UNET, [key]: ok });
  }
  assert.throws(() => parseUNetConfig('u', { ...UNET, transformer_layers_per_block: [1, 2, 1, 1] }), refused('u  transformer_layers_per_block[1]  2 is not supported (supported: 1)'));
  assert.throws(() => parseUNetConfig('u', { ...UNET, only_cross_attention: [false, true, false, false] }), refused('u  only_cross_attention[1]  true is not supported (supported: false)'));
  parseUNetConfig('u', { ...UNET, transformer_layers_per_block: [1, 1, 1, 1], only_cross_attention: [false, false, false, false] });
});

test('a config diffusers would not load: a wrong type, per-block lists of the wrong length', () => {
  assert.throws(() => parseUNetConfig('u', { ...UNET, layers_per_block: 'two' }), (e: unknown) => e instanceof BadInputError && e.code === 'SD_CONFIG_INVALID' && e.message.startsWith('u  layers_per_block  '));
  assert.throws(() => parseUNetConfig('u', { ...UNET, attention_head_dim: [5, 10, 20] }), (e: unknown) => e instanceof BadInputError && e.message === 'u  attention_head_dim  has 3 entries, block_out_channels has 4');
  assert.throws(() => parseVaeConfig('v', { ...VAE, up_block_types: ['UpDecoderBlock2D'] }), (e: unknown) => e instanceof BadInputError && e.message === 'v  up_block_types  has 1 entries, block_out_channels has 4');
  assert.throws(() => parseTextEncoderConfig('t', { ...TEXT_ENCODER, num_attention_heads: 3 }), (e: unknown) => e instanceof BadInputError && e.message === 't  num_attention_heads  3 does not divide hidden_size 1024');
});

test('VAE: the quant convolutions, mid attention and block types are required; upcast and latent statistics are fine', () => {
  assert.throws(() => parseVaeConfig('v', { ...VAE, use_quant_conv: false }), refused('v  use_quant_conv  false is not supported (supported: true)'));
  assert.throws(() => parseVaeConfig('v', { ...VAE, use_post_quant_conv: false }), refused('v  use_post_quant_conv  false is not supported (supported: true)'));
  assert.throws(() => parseVaeConfig('v', { ...VAE, mid_block_add_attention: false }), refused('v  mid_block_add_attention  false is not supported (supported: true)'));
  assert.throws(() => parseVaeConfig('v', { ...VAE, shift_factor: 0.0609 }), refused('v  shift_factor  0.0609 is not supported (supported: null)'));
  assert.throws(() => parseVaeConfig('v', { ...VAE, down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'AttnDownEncoderBlock2D'] }), refused('v  down_block_types[3]  "AttnDownEncoderBlock2D" is not supported (supported: "DownEncoderBlock2D")'));
  const { config, warnings } = parseVaeConfig('v', { ...VAE, force_upcast: false, latents_mean: [0.1, 0.2, 0.3, 0.4], latents_std: [1, 1, 1, 1], scaling_factor: 0.13025, use_quant_conv: true });
  assert.deepEqual([config.force_upcast, config.latents_mean, config.scaling_factor, warnings], [false, [0.1, 0.2, 0.3, 0.4], 0.13025, []]);
});

test('text encoder: gelu and quick_gelu only, CLIPTextModel only', () => {
  assert.throws(() => parseTextEncoderConfig('t', { ...TEXT_ENCODER, hidden_act: 'gelu_new' }), refused('t  hidden_act  "gelu_new" is not supported (supported: "quick_gelu", "gelu")'));
  assert.throws(() => parseTextEncoderConfig('t', { ...TEXT_ENCODER, architectures: ['CLIPTextModelWithProjection'] }), refused('t  architectures  ["CLIPTextModelWithProjection"] is not supported (supported: ["CLIPTextModel"], null)'));
  assert.equal(parseTextEncoderConfig('t', { ...TEXT_ENCODER, hidden_act: 'quick_gelu' }).config.hidden_act, 'quick_gelu');
  assert.deepEqual(parseTextEncoderConfig('t', TEXT_ENCODER).warnings, [], 'transformers bookkeeping keys are known');
});

test("weight file names follow diffusers' _add_variant", () => {
  assert.equal(addVariant('diffusion_pytorch_model.safetensors', 'fp16'), 'diffusion_pytorch_model.fp16.safetensors');
  assert.equal(addVariant('diffusion_pytorch_model.safetensors.index.json', 'fp16'), 'diffusion_pytorch_model.safetensors.index.fp16.json');
  assert.equal(addVariant('model.safetensors'), 'model.safetensors');
  assert.deepEqual(weightCandidates('model', 'fp16'), ['model.safetensors.index.fp16.json', 'model.safetensors.fp16.index.json', 'model.fp16.safetensors']);
  assert.deepEqual(weightCandidates('diffusion_pytorch_model'), ['diffusion_pytorch_model.safetensors.index.json', 'diffusion_pytorch_model.safetensors']);
});
