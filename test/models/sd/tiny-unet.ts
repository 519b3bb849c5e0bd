// The tiny diffusers UNet (test/fixtures/sd/tiny-sd2/unet) with its weights as trainable variables, and seeded
// inputs of any batch and latent size, for the gradient and memory tests.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { loadSafetensors } from '../../../src/weights/safetensors.js';
import { TorchLayoutWeights } from '../../../src/nn/torch-layout.js';
import { parseUNetConfig, type UNetConfig } from '../../../src/models/sd/unet-config.js';
import type { Init, ParamMap, WeightSource } from '../../../src/nn/params.js';
import { fromRoot } from '../../helpers/paths.js';

/** a torch state dict's weights as variables, made on first use (a student trained whole) */
export class VariableWeights implements WeightSource {
  readonly params: ParamMap = {};
  constructor(private readonly base: WeightSource) {}
  get(name: string, shape: number[], init: Init): tf.Tensor {
    const known = this.params[name];
    if (known !== undefined) return known;
    const v = tf.variable(this.base.get(name, shape, init), true);
    this.params[name] = v;
    return v;
  }
}

export interface TinyUNet {
  config: UNetConfig;
  weights: VariableWeights;
  dispose(): void;
}

export function tinyUNet(folder = 'test/fixtures/sd/tiny-sd2/unet'): TinyUNet {
  const dir = fromRoot(folder);
  const configPath = `${dir}/config.json`;
  const config = parseUNetConfig(configPath, JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>).config;
  const file = `${dir}/diffusion_pytorch_model.safetensors`;
  const { tensors } = loadSafetensors(file);
  const torch = new TorchLayoutWeights((name) => tensors[name]?.clone(), file);
  const weights = new VariableWeights(torch);
  return {
    config,
    weights,
    dispose: () => {
      tf.dispose(Object.values(weights.params));
      torch.dispose();
      tf.dispose(Object.values(tensors));
    },
  };
}

/** latents [B, H, W, C], context [B, 77, D] and a weighting r for the loss Σ r·ε (so every output gets its own dy), seeded */
export function tinyInputs(config: UNetConfig, batch: number, size: number, seed = 7): { sample: tf.Tensor4D; context: tf.Tensor3D; r: tf.Tensor4D } {
  const d = config.cross_attention_dim as number;
  return {
    sample: tf.randomNormal([batch, size, size, config.in_channels], 0, 1, 'float32', seed),
    context: tf.randomNormal([batch, 77, d], 0, 1, 'float32', seed + 1),
    r: tf.randomNormal([batch, size, size, config.out_channels], 0, 1, 'float32', seed + 2),
  };
}
