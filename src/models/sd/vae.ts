// diffusers' AutoencoderKL (v0.27.2) as SD uses it, channels-last on the nn layers: the decoder turns latents into
// images for sampling, the encoder turns reference images into latent distributions (round trips, distillation on
// real data). Blocks: DownEncoderBlock2D / UpDecoderBlock2D of ResnetBlock2D (eps 1e-6, no time embedding), the
// mid block's single-head attention with its own group norm, quant_conv / post_quant_conv. The stride-2 downsamplers
// pad only bottom and right by one (diffusers' Downsample2D with padding 0), unlike the UNet's.
import * as tf from '@tensorflow/tfjs';
import { attention, conv, groupNorm, linear, upsampleNearest2x, type LayerContext } from '../../nn/layers.js';
import { resnetBlock2d } from './resnet-block.js';
import type { VaeConfig } from './vae-config.js';

const EPS = 1e-6;

const resnet = (layer: LayerContext, config: VaeConfig, name: string, x: tf.Tensor4D, out: number): tf.Tensor4D =>
  resnetBlock2d(layer, name, x, out, { groups: config.norm_num_groups, eps: EPS });

/** the mid block's attention: one head over all positions, q/k/v with bias, its own group norm, residual */
function spatialAttention(layer: LayerContext, config: VaeConfig, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const tokens = groupNorm(layer, `${name}.group_norm`, x, config.norm_num_groups, { eps: EPS }).reshape([b, h * w, c]);
  const q = linear(layer, `${name}.to_q`, tokens, c) as tf.Tensor3D;
  const k = linear(layer, `${name}.to_k`, tokens, c) as tf.Tensor3D;
  const v = linear(layer, `${name}.to_v`, tokens, c) as tf.Tensor3D;
  const out = linear(layer, `${name}.to_out.0`, attention(q, k, v, 1), c);
  return tf.add(out.reshape([b, h, w, c]), x);
}

function midBlock(layer: LayerContext, config: VaeConfig, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  const c = x.shape[3];
  let h = resnet(layer, config, `${prefix}.mid_block.resnets.0`, x, c);
  h = spatialAttention(layer, config, `${prefix}.mid_block.attentions.0`, h);
  return resnet(layer, config, `${prefix}.mid_block.resnets.1`, h, c);
}

/** images [B, H, W, 3] in [−1, 1] → the latent distribution's mean and std [B, H/f, W/f, latent_channels] (unscaled) */
export function sdVaeEncode(layer: LayerContext, config: VaeConfig, images: tf.Tensor4D): { mean: tf.Tensor4D; std: tf.Tensor4D } {
  return tf.tidy(() => {
    const last = config.block_out_channels.length - 1;
    let h = conv(layer, 'encoder.conv_in', images, config.block_out_channels[0] as number, 3);
    config.block_out_channels.forEach((out, i) => {
      for (let j = 0; j < config.layers_per_block; j++) h = resnet(layer, config, `encoder.down_blocks.${i}.resnets.${j}`, h, out);
      if (i < last) h = conv(layer, `encoder.down_blocks.${i}.downsamplers.0.conv`, tf.pad(h, [[0, 0], [0, 1], [0, 1], [0, 0]]), out, 3, { stride: 2, padding: 0 });
    });
    h = midBlock(layer, config, 'encoder', h);
    h = groupNorm(layer, 'encoder.conv_norm_out', h, config.norm_num_groups, { silu: true, eps: EPS });
    h = conv(layer, 'encoder.conv_out', h, 2 * config.latent_channels, 3);
    h = conv(layer, 'quant_conv', h, 2 * config.latent_channels, 1);
    const [mean, logvar] = tf.split(h, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    return { mean, std: tf.exp(tf.mul(tf.clipByValue(logvar, -30, 20), 0.5)) as tf.Tensor4D };
  });
}

/** latents [B, h, w, latent_channels] as the sampler produced them → images [B, 8h, 8w, 3] in about [−1, 1] (divides by scaling_factor first, as the pipelines do) */
export function sdVaeDecode(layer: LayerContext, config: VaeConfig, latents: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const reversed = [...config.block_out_channels].reverse();
    let h = conv(layer, 'post_quant_conv', tf.div(latents, config.scaling_factor), config.latent_channels, 1);
    h = conv(layer, 'decoder.conv_in', h, reversed[0] as number, 3);
    h = midBlock(layer, config, 'decoder', h);
    reversed.forEach((out, i) => {
      for (let j = 0; j <= config.layers_per_block; j++) h = resnet(layer, config, `decoder.up_blocks.${i}.resnets.${j}`, h, out);
      if (i < reversed.length - 1) h = conv(layer, `decoder.up_blocks.${i}.upsamplers.0.conv`, upsampleNearest2x(h), out, 3);
    });
    h = groupNorm(layer, 'decoder.conv_norm_out', h, config.norm_num_groups, { silu: true, eps: EPS });
    return conv(layer, 'decoder.conv_out', h, config.out_channels, 3);
  });
}
