// A diffusers UNet folder's weights as the engine's ParamMap (the layer weight names sdUNetForward asks for,
// channels-last), recorded during one forward pass through TorchLayoutWeights. Tests only: sd-distill's
// src/models/sd/unet-params.ts is the product version.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamMap, WeightSource } from '../../src/nn/params.js';
import { TorchLayoutWeights } from '../../src/nn/torch-layout.js';
import { sdUNetForward } from '../../src/models/sd/unet.js';
import { parseUNetConfig, type UNetConfig } from '../../src/models/sd/unet-config.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';

/** every weight of the UNet in `unetDir` (config.json + diffusion_pytorch_model.safetensors) as trainable variables */
export function unetParamsOf(unetDir: string): { config: UNetConfig; params: ParamMap } {
  const configPath = join(unetDir, 'config.json');
  const { config } = parseUNetConfig(configPath, JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>);
  const file = join(unetDir, 'diffusion_pytorch_model.safetensors');
  const { tensors } = loadSafetensors(file);
  const torch = new TorchLayoutWeights((name) => tensors[name]?.clone(), file);
  const params: ParamMap = {};
  const recording: WeightSource = {
    get(name, shape) {
      const existing = params[name];
      if (existing !== undefined) return existing;
      const v = tf.variable(torch.get(name, shape), true);
      params[name] = v;
      return v;
    },
  };
  const factor = 2 ** (config.block_out_channels.length - 1);
  const crossDim = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : (config.cross_attention_dim[0] as number);
  tf.tidy(() => {
    sdUNetForward({ weights: recording }, config, tf.zeros([1, factor, factor, config.in_channels]) as tf.Tensor4D, [1], tf.zeros([1, 1, crossDim]) as tf.Tensor3D);
  });
  torch.dispose();
  tf.dispose(Object.values(tensors));
  return { config, params };
}
