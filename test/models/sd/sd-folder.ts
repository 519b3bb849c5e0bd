// A Stable Diffusion 2.1-base pipeline folder in miniature, as save_pretrained writes it (the configs are the real
// SD 2.1-base ones; the weights are one small tensor each), for the folder checks to break one piece at a time.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp.js';
import { f32, i64, writeRaw } from '../../helpers/safetensors-files.js';

export const MODEL_INDEX = {
  _class_name: 'StableDiffusionPipeline',
  _diffusers_version: '0.10.0.dev0',
  feature_extractor: ['transformers', 'CLIPImageProcessor'],
  requires_safety_checker: false,
  safety_checker: [null, null],
  scheduler: ['diffusers', 'PNDMScheduler'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

export const UNET = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.10.0.dev0',
  act_fn: 'silu',
  attention_head_dim: [5, 10, 20, 20],
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 1024,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  dual_cross_attention: false,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  num_class_embeds: null,
  only_cross_attention: false,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  use_linear_projection: true,
};

export const VAE = {
  _class_name: 'AutoencoderKL',
  _diffusers_version: '0.10.0.dev0',
  act_fn: 'silu',
  block_out_channels: [128, 256, 512, 512],
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  in_channels: 3,
  latent_channels: 4,
  layers_per_block: 2,
  norm_num_groups: 32,
  out_channels: 3,
  sample_size: 512,
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
};

export const TEXT_ENCODER = {
  _name_or_path: 'hf-models/stable-diffusion-v2-base/text_encoder',
  architectures: ['CLIPTextModel'],
  attention_dropout: 0.0,
  bos_token_id: 0,
  dropout: 0.0,
  eos_token_id: 2,
  hidden_act: 'gelu',
  hidden_size: 1024,
  initializer_factor: 1.0,
  initializer_range: 0.02,
  intermediate_size: 4096,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 77,
  model_type: 'clip_text_model',
  num_attention_heads: 16,
  num_hidden_layers: 23,
  pad_token_id: 1,
  projection_dim: 512,
  torch_dtype: 'float32',
  transformers_version: '4.25.0.dev0',
  vocab_size: 49408,
};

export const SCHEDULER = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.10.0.dev0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** a fresh folder; `edit` changes configs (by component) before they are written */
export function sdFolder(edit: { modelIndex?: object; unet?: object; vae?: object; textEncoder?: object } = {}): string {
  const dir = tempDir({
    'model_index.json': json({ ...MODEL_INDEX, ...edit.modelIndex }),
    'unet/config.json': json({ ...UNET, ...edit.unet }),
    'vae/config.json': json({ ...VAE, ...edit.vae }),
    'text_encoder/config.json': json({ ...TEXT_ENCODER, ...edit.textEncoder }),
    'tokenizer/vocab.json': json({ '!': 0, '<|endoftext|>': 49407 }),
    'tokenizer/merges.txt': '#version: 0.2\n',
    'tokenizer/special_tokens_map.json': json({ pad_token: '!' }),
    'tokenizer/tokenizer_config.json': json({ model_max_length: 77 }),
    'scheduler/scheduler_config.json': json(SCHEDULER),
  });
  writeRaw(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), { 'conv_in.bias': f32([2], [1, 2]) });
  writeRaw(join(dir, 'vae', 'diffusion_pytorch_model.safetensors'), { 'encoder.conv_in.bias': f32([1], [3]) });
  writeRaw(join(dir, 'text_encoder', 'model.safetensors'), {
    'text_model.final_layer_norm.bias': f32([1], [0]),
    'text_model.embeddings.position_ids': i64([1, 4], [0n, 1n, 2n, 3n]),
  });
  return dir;
}

export const remove = (dir: string, path: string): void => rmSync(join(dir, path), { recursive: true, force: true });
export const put = (dir: string, path: string, content: string | Uint8Array = ''): void => {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
};
