/**
 * Optimum's ONNX Stable Diffusion folder (what `optimum-cli export onnx --task stable-diffusion` and
 * ORTStableDiffusionPipeline.save_pretrained write): model_index.json, text_encoder/, unet/, vae_decoder/ (each
 * model.onnx beside the component's config.json), tokenizer/, scheduler/; vae_encoder/ is not used for sampling.
 * The graphs carry the architecture, so of the configs only the shapes sampling needs are read here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadInputError, MissingAssetError } from '../../../errors.js';
import { readJsonObject, type JsonObject } from '../config-file.js';

export const ONNX_MODEL_FILE = 'model.onnx';

/** a folder is an ONNX pipeline when its UNet is an ONNX graph */
export const isOnnxPipelineFolder = (dir: string): boolean => existsSync(join(dir, 'unet', ONNX_MODEL_FILE));

const UNetShape = z.looseObject({ in_channels: z.number().int().positive().default(4), sample_size: z.union([z.number().int().positive(), z.array(z.number().int().positive())]).default(64) });
const VaeShape = z.looseObject({
  latent_channels: z.number().int().positive().default(4),
  block_out_channels: z.array(z.number().int().positive()).min(1),
  scaling_factor: z.number().positive().default(0.18215),
});

export interface OnnxPipelineFolder {
  dir: string;
  modelIndexPath: string;
  textEncoder: string;
  unet: string;
  vaeDecoder: string;
  tokenizerDir: string;
  scheduler: { configPath: string; config: JsonObject };
  /** the UNet's latent channels and default latent side */
  latentChannels: number;
  sampleSize: number;
  /** VAE: image side = latent side × this; latents are divided by scalingFactor before decoding */
  vaeScale: number;
  scalingFactor: number;
}

const HINT = 'export the diffusers folder with Optimum (`optimum-cli export onnx --task stable-diffusion`) or tools/sd/export_onnx.py';

function parseShape<T extends z.ZodType>(schema: T, path: string, raw: JsonObject): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BadInputError('SD_CONFIG_INVALID', `${path}  ${issue.path.join('.')}  ${issue.message}`);
  }
  return r.data;
}

/** checks that every file sampling reads is there (the graphs' names are checked when they load) */
export function readOnnxPipelineFolder(dir: string): OnnxPipelineFolder {
  if (!existsSync(dir)) throw new MissingAssetError('SD_PIPELINE_MISSING', `${dir}: no such pipeline folder`);
  const modelIndexPath = join(dir, 'model_index.json');
  readJsonObject(modelIndexPath, 'model_index.json');
  const graph = (component: string, io: string): string => {
    const path = join(dir, component, ONNX_MODEL_FILE);
    if (!existsSync(path)) throw new BadInputError('SD_ONNX_MISSING', `${path}: no such file; an ONNX Stable Diffusion folder has it, with ${io}`, HINT);
    return path;
  };
  const unet = graph('unet', 'inputs sample, timestep, encoder_hidden_states → outputs out_sample');
  const textEncoder = graph('text_encoder', 'inputs input_ids → outputs last_hidden_state');
  const vaeDecoder = graph('vae_decoder', 'inputs latent_sample → outputs sample');
  const unetConfigPath = join(dir, 'unet', 'config.json');
  const u = parseShape(UNetShape, unetConfigPath, readJsonObject(unetConfigPath, 'unet config'));
  const vaeConfigPath = join(dir, 'vae_decoder', 'config.json');
  const v = parseShape(VaeShape, vaeConfigPath, readJsonObject(vaeConfigPath, 'vae_decoder config'));
  const configPath = join(dir, 'scheduler', 'scheduler_config.json');
  return {
    dir,
    modelIndexPath,
    textEncoder,
    unet,
    vaeDecoder,
    tokenizerDir: join(dir, 'tokenizer'),
    scheduler: { configPath, config: readJsonObject(configPath, 'scheduler config') },
    latentChannels: u.in_channels,
    sampleSize: Array.isArray(u.sample_size) ? (u.sample_size[0] as number) : u.sample_size,
    vaeScale: 2 ** (v.block_out_channels.length - 1),
    scalingFactor: v.scaling_factor,
  };
}
