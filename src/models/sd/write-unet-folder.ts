/**
 * A UNet's parameters written as the diffusers `unet/` folder `UNet2DConditionModel.save_pretrained` makes:
 * `config.json` (every `__init__` argument, keys sorted, `_class_name` and `_diffusers_version` added, as
 * diffusers v0.27.2 `to_json_string` writes it) and `diffusion_pytorch_model.safetensors` (torch names, torch
 * layout, F32, metadata `{"format": "pt"}` as diffusers saves it). The parameters are the engine's ParamMap: the
 * layer weight names sdUNetForward asks for, channels-last; torchNameOf / torchShapeOf give the torch side.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { publishDir } from '../../util/atomic-write.js';
import type { ParamMap } from '../../nn/params.js';
import { torchNameOf, torchShapeOf } from '../../nn/torch-layout.js';
import { writeSafetensorsFile, type StreamedTensor } from '../../weights/safetensors-writer.js';
import { pythonJson } from './python-json.js';
import type { UNetConfig } from './unet-config.js';

/** the diffusers release whose file layout the writers follow (and `_diffusers_version` names) */
export const DIFFUSERS_VERSION = '0.27.2';

export const UNET_WEIGHTS_FILE = 'diffusion_pytorch_model.safetensors';

// UNet2DConditionModel.__init__ (v0.27.2) arguments the engine holds at their defaults: unet-config.ts refuses any
// other value, so a folder the engine read or trained has exactly these
const FIXED_ARGUMENTS = {
  act_fn: 'silu',
  addition_embed_type: null,
  addition_embed_type_num_heads: 64,
  addition_time_embed_dim: null,
  attention_type: 'default',
  class_embed_type: null,
  class_embeddings_concat: false,
  conv_in_kernel: 3,
  conv_out_kernel: 3,
  cross_attention_norm: null,
  dropout: 0,
  dual_cross_attention: false,
  encoder_hid_dim: null,
  encoder_hid_dim_type: null,
  mid_block_only_cross_attention: null,
  num_attention_heads: null,
  num_class_embeds: null,
  only_cross_attention: false,
  projection_class_embeddings_input_dim: null,
  resnet_out_scale_factor: 1,
  resnet_skip_time_act: false,
  resnet_time_scale_shift: 'default',
  reverse_transformer_layers_per_block: null,
  time_cond_proj_dim: null,
  time_embedding_act_fn: null,
  time_embedding_dim: null,
  time_embedding_type: 'positional',
  timestep_post_act: null,
  transformer_layers_per_block: 1,
} as const;

// the arguments diffusers declares and defaults as Python floats
const FLOAT_ARGUMENTS = new Set(['dropout', 'norm_eps', 'resnet_out_scale_factor']);

/** config.json as diffusers writes it for this config */
export function unetConfigJson(config: UNetConfig): string {
  return `${pythonJson({ ...FIXED_ARGUMENTS, ...config, _class_name: 'UNet2DConditionModel', _diffusers_version: DIFFUSERS_VERSION }, FLOAT_ARGUMENTS)}\n`;
}

/** one parameter in torch's layout and name, its bytes computed when the file writer reaches it */
export function torchTensorOf(name: string, value: tf.Tensor): [string, StreamedTensor] {
  const shape = torchShapeOf(name, value.shape);
  const bytes = (): Uint8Array => {
    const t = tf.tidy(() => {
      if (name.endsWith('.w') && value.shape.length === 4) return tf.transpose(value, [3, 2, 0, 1]);
      if (name.endsWith('.w') && value.shape.length === 2) return tf.transpose(value);
      return tf.clone(value);
    });
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  };
  return [torchNameOf(name), { dtype: 'F32', shape, bytes }];
}

/** the ParamMap as the state dict diffusers saves (torch names and layout), each tensor converted when written */
export function unetStateDict(params: ParamMap): Record<string, StreamedTensor> {
  const out: Record<string, StreamedTensor> = {};
  for (const [name, value] of Object.entries(params)) {
    if (value.dtype !== 'float32') throw new Error(`write unet: ${name} is ${value.dtype}, the writer takes float32 parameters`);
    const [torchName, tensor] = torchTensorOf(name, value);
    if (out[torchName] !== undefined) throw new Error(`write unet: two parameters map to ${torchName}`);
    out[torchName] = tensor;
  }
  return out;
}

/**
 * Writes the `unet/` folder `dir` whole or not at all: it is built beside `dir` and renamed into place, replacing an
 * older one.
 */
export function writeUNetFolder(dir: string, config: UNetConfig, params: ParamMap): void {
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeUNetFiles(tmp, config, params);
    publishDir(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** the two files into an existing folder (the pipeline writer builds its whole folder in a temporary place already) */
export function writeUNetFiles(dir: string, config: UNetConfig, params: ParamMap): void {
  writeSafetensorsFile(join(dir, UNET_WEIGHTS_FILE), unetStateDict(params), { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), unetConfigJson(config));
}
