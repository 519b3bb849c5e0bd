// A bare diffusers `unet/` folder (no pipeline around it) as the engine's ParamMap, through the product's recorder
// (src/models/sd/unet-params.ts): the writers' round-trip tests and tools/sd/write_interop_sample.mjs start from it.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamMap } from '../../src/nn/params.js';
import { TorchLayoutWeights } from '../../src/nn/torch-layout.js';
import { recordSdUNetParams } from '../../src/models/sd/unet-params.js';
import { parseUNetConfig, type UNetConfig } from '../../src/models/sd/unet-config.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';

/** every weight of the UNet in `unetDir` (config.json + diffusion_pytorch_model.safetensors) as trainable variables */
export function unetParamsOf(unetDir: string): { config: UNetConfig; params: ParamMap } {
  const configPath = join(unetDir, 'config.json');
  const { config } = parseUNetConfig(configPath, JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>);
  const file = join(unetDir, 'diffusion_pytorch_model.safetensors');
  const { tensors } = loadSafetensors(file);
  const torch = new TorchLayoutWeights((name) => tensors[name]?.clone(), file);
  const params = recordSdUNetParams(torch, config, true);
  torch.dispose();
  tf.dispose(Object.values(tensors));
  return { config, params };
}
