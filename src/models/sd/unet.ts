// diffusers' UNet2DConditionModel (v0.27.2) for SD 1.x / 2.x configs, computed as diffusers computes it, channels-last
// on the nn layers: the weights are diffusers' own state dict read through TorchLayoutWeights (`conv_in.weight`, ...).
// The config is checked and completed with diffusers' defaults by unet-config.ts. Implemented: CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D / UpBlock2D, ResnetBlock2D
// (scale-shift off, output scale 1), Transformer2DModel with one BasicTransformerBlock (self- and cross-attention,
// GEGLU with the exact erf GELU), linear or 1×1-conv projections, per-block head counts, symmetric padding in the
// stride-2 downsamplers, nearest 2× upsampling. `upcast_attention` only changes the dtype of half-precision attention
// in diffusers; in float32 it changes nothing. The folder loader refuses every other config option before this runs.
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../../errors.js';
import { attention, conv, gegluErf, groupNorm, layerNorm, linear, silu, sinusoidalTimesteps, upsampleNearest2x, type LayerContext } from '../../nn/layers.js';
import { checkpointed } from '../../nn/checkpoint.js';
import { resnetBlock2d, resnetBranch, resnetSum, type ResnetOptions } from './resnet-block.js';
import type { UNetConfig } from './unet-config.js';

export const CROSS_ATTN_DOWN = 'CrossAttnDownBlock2D';
export const CROSS_ATTN_UP = 'CrossAttnUpBlock2D';

// Transformer2DModel's GroupNorm and BasicTransformerBlock's LayerNorms use these, whatever norm_eps says
const TRANSFORMER_GROUP_NORM_EPS = 1e-6;
const TRANSFORMER_LAYER_NORM_EPS = 1e-5;
const FF_MULT = 4;

/** a per-block setting (one value for all blocks, or a list) as the list diffusers expands it to */
const perBlock = (config: UNetConfig, value: number | readonly number[]): number[] => (typeof value === 'number' ? config.down_block_types.map(() => value) : [...value]);

/** heads of each down block: diffusers reads `attention_head_dim` as the head count (num_attention_heads is refused) */
export const attentionHeads = (config: UNetConfig): number[] => perBlock(config, config.attention_head_dim);

/** the latent sizes a config takes: each of the len − 1 downsamplers halves H and W exactly */
export function checkLatentSize(config: UNetConfig, height: number, width: number): void {
  const factor = 2 ** (config.block_out_channels.length - 1);
  if (height % factor !== 0 || width % factor !== 0) {
    throw new BadInputError('UNET_INPUT_SIZE', `latents of ${height}×${width} do not divide by ${factor}, which this UNet's ${config.block_out_channels.length - 1} downsamplers need`, `use a latent size that is a multiple of ${factor} (image size a multiple of ${factor * 8})`);
  }
}

/** how the forward trades compute for memory; the output is the same either way */
export interface UNetForwardOptions {
  /**
   * gradient checkpointing: each ResnetBlock2D's residual branch and each Transformer2DModel (up to its residual
   * add) keeps only its inputs on the gradient tape and is recomputed in the backward pass (one more forward per
   * backward). Gradients are bit-identical to the plain backward. No effect when no gradient is recorded.
   */
  checkpoint?: boolean | undefined;
  /** attention in slices of this many (batch · head) rows, as diffusers' set_attention_slice (see nn/layers.ts) */
  attentionSlice?: number | undefined;
}

interface Ctx {
  layer: LayerContext;
  config: UNetConfig;
  /** the time embedding [B, 4·C0] */
  temb: tf.Tensor2D;
  /** encoder hidden states [B, S, cross_attention_dim] */
  context: tf.Tensor3D;
  options: UNetForwardOptions;
}

function resnet(c: Ctx, name: string, x: tf.Tensor4D, out: number): tf.Tensor4D {
  const o: ResnetOptions = { groups: c.config.norm_num_groups, eps: c.config.norm_eps, temb: c.temb };
  if (c.options.checkpoint !== true) return resnetBlock2d(c.layer, name, x, out, o);
  // x and temb are each used once inside the branch; the shortcut and the sum stay on the tape, as in the plain order
  const branch = checkpointed(c.layer, `${name}.branch`, [x, c.temb], (layer, [xi, ti]) => resnetBranch(layer, name, xi as tf.Tensor4D, out, { ...o, temb: ti as tf.Tensor2D }), c.config);
  return resnetSum(c.layer, name, x, out, branch);
}

/** attention of x's tokens to keys from `keysFrom` and values from `valuesFrom` (the same tensor but for checkpointing) */
function crossAttention(layer: LayerContext, name: string, x: tf.Tensor3D, keysFrom: tf.Tensor3D, valuesFrom: tf.Tensor3D, heads: number, slice: number | undefined): tf.Tensor3D {
  const dim = x.shape[2];
  const q = linear(layer, `${name}.to_q`, x, dim, { bias: false }) as tf.Tensor3D;
  const k = linear(layer, `${name}.to_k`, keysFrom, dim, { bias: false }) as tf.Tensor3D;
  const v = linear(layer, `${name}.to_v`, valuesFrom, dim, { bias: false }) as tf.Tensor3D;
  return linear(layer, `${name}.to_out.0`, attention(q, k, v, heads, undefined, { slice }), dim) as tf.Tensor3D;
}

function transformerBlock(layer: LayerContext, name: string, x: tf.Tensor3D, contextK: tf.Tensor3D, contextV: tf.Tensor3D, heads: number, slice: number | undefined): tf.Tensor3D {
  const eps = TRANSFORMER_LAYER_NORM_EPS;
  const dim = x.shape[2];
  let n = layerNorm(layer, `${name}.norm1`, x, { eps }) as tf.Tensor3D;
  let h = tf.add(x, crossAttention(layer, `${name}.attn1`, n, n, n, heads, slice)) as tf.Tensor3D;
  n = layerNorm(layer, `${name}.norm2`, h, { eps }) as tf.Tensor3D;
  h = tf.add(h, crossAttention(layer, `${name}.attn2`, n, contextK, contextV, heads, slice));
  n = layerNorm(layer, `${name}.norm3`, h, { eps }) as tf.Tensor3D;
  const ff = linear(layer, `${name}.ff.net.2`, gegluErf(linear(layer, `${name}.ff.net.0.proj`, n, 2 * FF_MULT * dim)), dim);
  return tf.add(h, ff);
}

/** Transformer2DModel up to its residual add: norm → proj_in → BasicTransformerBlock → proj_out */
function transformerBody(layer: LayerContext, config: UNetConfig, name: string, x: tf.Tensor4D, contextK: tf.Tensor3D, contextV: tf.Tensor3D, heads: number, slice: number | undefined): tf.Tensor4D {
  const [b, hgt, wid, ch] = x.shape;
  const linearProjection = config.use_linear_projection;
  const h = groupNorm(layer, `${name}.norm`, x, config.norm_num_groups, { eps: TRANSFORMER_GROUP_NORM_EPS });
  let tokens: tf.Tensor3D = linearProjection
    ? (linear(layer, `${name}.proj_in`, h.reshape([b, hgt * wid, ch]), ch) as tf.Tensor3D)
    : conv(layer, `${name}.proj_in`, h, ch, 1).reshape([b, hgt * wid, ch]);
  tokens = transformerBlock(layer, `${name}.transformer_blocks.0`, tokens, contextK, contextV, heads, slice);
  return linearProjection
    ? (linear(layer, `${name}.proj_out`, tokens, ch).reshape([b, hgt, wid, ch]) as tf.Tensor4D)
    : conv(layer, `${name}.proj_out`, tokens.reshape([b, hgt, wid, ch]), ch, 1);
}

function transformer2d(c: Ctx, name: string, x: tf.Tensor4D, heads: number): tf.Tensor4D {
  const slice = c.options.attentionSlice;
  if (c.options.checkpoint !== true) return tf.add(transformerBody(c.layer, c.config, name, x, c.context, c.context, heads, slice), x);
  // the context feeds to_k then to_v: passed once per use, the later (values) first, as the plain backward adds them
  const body = checkpointed(c.layer, `${name}.body`, [x, c.context, c.context], (layer, [xi, valuesFrom, keysFrom]) =>
    transformerBody(layer, c.config, name, xi as tf.Tensor4D, keysFrom as tf.Tensor3D, valuesFrom as tf.Tensor3D, heads, slice), c.config);
  return tf.add(body, x);
}

/**
 * ε (or v) of `sample` [B, H, W, in_channels] (latents, channels-last) at `timesteps` (one per batch row, or one
 * for all) given `context` [B, S, cross_attention_dim] (the text encoder's hidden states): [B, H, W, out_channels].
 * `options` trade compute for memory (checkpointing, sliced attention) without changing the result.
 */
export function sdUNetForward(layer: LayerContext, config: UNetConfig, sample: tf.Tensor4D, timesteps: readonly number[], context: tf.Tensor3D, options: UNetForwardOptions = {}): tf.Tensor4D {
  const [batch, height, width] = sample.shape;
  checkLatentSize(config, height, width);
  const ts = timesteps.length === 1 ? Array.from({ length: batch }, () => timesteps[0] as number) : [...timesteps];
  if (ts.length !== batch) throw new Error(`sdUNetForward: ${ts.length} timesteps for a batch of ${batch}`);
  return tf.tidy(() => {
    const c0 = config.block_out_channels[0] as number;
    const features = sinusoidalTimesteps(ts, c0, { flipSinToCos: config.flip_sin_to_cos, freqShift: config.freq_shift });
    const temb = linear(layer, 'time_embedding.linear_2', silu(linear(layer, 'time_embedding.linear_1', features, 4 * c0)), 4 * c0) as tf.Tensor2D;
    const c: Ctx = { layer, config, temb, context, options };
    const heads = attentionHeads(config);
    const layers = perBlock(config, config.layers_per_block);
    const last = config.block_out_channels.length - 1;

    // each block in its own scope, and its input released after its last use: what nobody saved goes then, not when
    // the UNet ends, so a forward without a tape holds the skips and one block's intermediates, not every activation
    // (the tape keeps its own references to what it saved)
    const block = (f: () => tf.Tensor4D, ...consumed: tf.Tensor[]): tf.Tensor4D => {
      const out = tf.tidy(f);
      tf.dispose(consumed);
      return out;
    };
    let h = block(() => conv(layer, 'conv_in', sample, c0, 3));
    const skips: tf.Tensor4D[] = [h];
    config.down_block_types.forEach((type, i) => {
      const out = config.block_out_channels[i] as number;
      for (let j = 0; j < (layers[i] as number); j++) {
        const x = h;
        h = block(() => resnet(c, `down_blocks.${i}.resnets.${j}`, x, out));
        const y = h;
        if (type === CROSS_ATTN_DOWN) h = block(() => transformer2d(c, `down_blocks.${i}.attentions.${j}`, y, heads[i] as number), y);
        skips.push(h);
      }
      if (i < last) {
        const x = h;
        h = block(() => conv(layer, `down_blocks.${i}.downsamplers.0.conv`, x, out, 3, { stride: 2, padding: 1 }));
        skips.push(h);
      }
    });

    const deepest = config.block_out_channels[last] as number;
    const m0 = h;
    const m1 = block(() => resnet(c, 'mid_block.resnets.0', m0, deepest));
    const m2 = block(() => transformer2d(c, 'mid_block.attentions.0', m1, heads[last] as number), m1);
    h = block(() => resnet(c, 'mid_block.resnets.1', m2, deepest), m2);

    const reversedChannels = [...config.block_out_channels].reverse();
    const reversedHeads = [...heads].reverse();
    const reversedLayers = [...layers].reverse();
    config.up_block_types.forEach((type, i) => {
      const out = reversedChannels[i] as number;
      for (let j = 0; j <= (reversedLayers[i] as number); j++) {
        const skip = skips.pop();
        if (skip === undefined) throw new Error('sdUNetForward: skip connections exhausted');
        const x = h;
        h = block(() => resnet(c, `up_blocks.${i}.resnets.${j}`, tf.concat([x, skip], 3), out), x, skip);
        const y = h;
        if (type === CROSS_ATTN_UP) h = block(() => transformer2d(c, `up_blocks.${i}.attentions.${j}`, y, reversedHeads[i] as number), y);
      }
      const x = h;
      if (i < last) h = block(() => conv(layer, `up_blocks.${i}.upsamplers.0.conv`, upsampleNearest2x(x), out, 3), x);
    });

    const x = h;
    return conv(layer, 'conv_out', groupNorm(layer, 'conv_norm_out', x, config.norm_num_groups, { silu: true, eps: config.norm_eps }), config.out_channels, 3);
  });
}
