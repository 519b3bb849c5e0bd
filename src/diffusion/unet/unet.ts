import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../../errors.js';
import { type UNetConfig, inputMultiple, levelChannels, timeEmbedDim, validateUNetConfig } from './config.js';
import { type ParamMap, WeightInitializer, WeightReader, type WeightSource } from '../../nn/params.js';
import { type LayerContext, conv, depthToSpace, groupNorm, linear, silu, spaceToDepth, timestepFeatures, upsampleNearest2x } from '../../nn/layers.js';
import { resBlock, transformerBlock } from './blocks.js';
import type { LoraAdapter } from '../../nn/lora.js';
import type { DenoiserFn } from '../denoiser.js';
import type { Timesteps } from '../parameterization.js';
import { alphaSigma, scaledLinearSchedule } from '../schedule.js';

export interface UNet {
  config: UNetConfig;
  params: ParamMap;
}

const SCHEDULE = scaledLinearSchedule();

/** ε̂ = σ_t x_t + α_t v̂, per sample (the identity x_t → ε at t = T is exact instead of learned) */
const epsFromV = (x: tf.Tensor4D, v: tf.Tensor4D, ts: readonly number[]): tf.Tensor4D => {
  const coef = ts.map((t) => alphaSigma(SCHEDULE, t));
  const sigma = tf.tensor4d(coef.map((c) => c.sigma), [ts.length, 1, 1, 1]);
  const alpha = tf.tensor4d(coef.map((c) => c.alpha), [ts.length, 1, 1, 1]);
  return tf.add(tf.mul(x, sigma), tf.mul(v, alpha)) as tf.Tensor4D;
};

const timesteps = (t: Timesteps, batch: number): number[] => (typeof t === 'number' ? Array.from({ length: batch }, () => t) : [...t]);

/** the whole network, written once; the weight source decides whether weights are created or read */
const forward = (config: UNetConfig, weights: WeightSource, lora: LoraAdapter | undefined, x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D): tf.Tensor4D => {
  const ctx: LayerContext = { weights, lora };
  const batch = x.shape[0];
  if (cond.shape[0] !== batch) throw new Error(`unet: cond batch ${cond.shape[0]} differs from x batch ${batch}`);
  const levels = levelChannels(config);
  const { groups, heads } = config;
  const ts = timesteps(t, batch);
  if (ts.length !== batch) throw new Error(`unet: ${ts.length} timesteps for a batch of ${batch}`);
  const base = config.baseChannels;
  const temb = linear(ctx, 'time.linear2', silu(linear(ctx, 'time.linear1', timestepFeatures(ts, base), timeEmbedDim(config))), timeEmbedDim(config)) as tf.Tensor2D;

  const patch = config.patchSize ?? 1;
  let h = conv(ctx, 'conv_in', spaceToDepth(x, patch), base, 3);
  const skips: tf.Tensor4D[] = [h];
  levels.forEach((channels, level) => {
    for (let i = 0; i < config.resBlocksPerLevel; i++) {
      h = resBlock(ctx, `down.${level}.res.${i}`, h, temb, channels, groups);
      if (config.attentionLevels[level] === true) h = transformerBlock(ctx, `down.${level}.attn.${i}`, h, cond, heads, groups);
      skips.push(h);
    }
    if (level < levels.length - 1) {
      h = conv(ctx, `down.${level}.downsample`, h, channels, 3, { stride: 2 });
      skips.push(h);
    }
  });

  const deepest = levels[levels.length - 1] as number;
  h = resBlock(ctx, 'mid.res.0', h, temb, deepest, groups);
  h = transformerBlock(ctx, 'mid.attn', h, cond, heads, groups);
  h = resBlock(ctx, 'mid.res.1', h, temb, deepest, groups);

  for (let level = levels.length - 1; level >= 0; level--) {
    const channels = levels[level] as number;
    for (let i = 0; i <= config.resBlocksPerLevel; i++) {
      const skip = skips.pop();
      if (skip === undefined) throw new Error('unet: skip connections exhausted');
      h = resBlock(ctx, `up.${level}.res.${i}`, tf.concat([h, skip], 3), temb, channels, groups);
      if (config.attentionLevels[level] === true) h = transformerBlock(ctx, `up.${level}.attn.${i}`, h, cond, heads, groups);
    }
    if (level > 0) h = conv(ctx, `up.${level}.upsample`, upsampleNearest2x(h), channels, 3);
  }
  const out = groupNorm(ctx, 'norm_out', h, groups, { silu: true });
  const body = depthToSpace(conv(ctx, 'conv_out', out, config.outChannels * patch * patch, 3, { init: 'zeros' }), patch);
  return config.bodyPredicts === 'v' ? epsFromV(x, body, ts) : body;
};

/** creates the network's weights (deterministic for a seed) */
export const initUNet = (configIn: UNetConfig, seed: number): UNet => {
  const config = validateUNetConfig(configIn);
  const init = new WeightInitializer(seed, config.zeroInit ?? true);
  const side = inputMultiple(config);
  tf.tidy(() => {
    forward(config, init, undefined, tf.zeros([1, side, side, config.inChannels]), 0, tf.zeros([1, 1, config.condDim]));
  });
  return { config, params: init.params };
};

/** ε̂ (or whatever the network was trained to predict) for x [B,H,W,C], per-batch or per-sample t, cond [B,L,D] */
export const unetForward = (net: UNet, x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter): tf.Tensor4D => {
  const side = inputMultiple(net.config);
  if (x.shape[1] % side !== 0 || x.shape[2] % side !== 0) {
    // the image size and the UNet come from a teacher.json or a recipe: a user's pairing, not our invariant
    throw new BadInputError('UNET_INPUT_SIZE', `unet input ${x.shape[1]}x${x.shape[2]} must divide by ${side} (patch ${net.config.patchSize ?? 1}, ${net.config.channelMults.length} levels)`, 'make the image size a multiple of patch size × 2^(levels − 1), or change unet.channelMults / patchSize');
  }
  return tf.tidy(() => forward(net.config, new WeightReader(net.params), lora, x, t, cond));
};

/** the network as a sampler's model function */
export const unetDenoiser = (net: UNet, lora?: LoraAdapter): DenoiserFn<tf.Tensor> => (xt, t, cond) =>
  unetForward(net, xt as tf.Tensor4D, t, cond as tf.Tensor3D, lora);

export const parameterCount = (params: ParamMap): number => Object.values(params).reduce((n, p) => n + p.size, 0);

export const disposeParams = (params: ParamMap): void => {
  for (const p of Object.values(params)) p.dispose();
};
