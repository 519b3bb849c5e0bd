import * as tf from '@tensorflow/tfjs';
import { conv, groupNorm, linear, silu, type LayerContext } from '../../nn/layers.js';

/**
 * diffusers' ResnetBlock2D with the defaults SD's UNet and VAE use (time embedding added after conv1, no scale-shift,
 * output scale 1, dropout off): GN → SiLU → conv → (+ time) → GN → SiLU → conv, plus the input (1×1 conv when the
 * channel count changes). The VAE's blocks have no time embedding.
 */
export function resnetBlock2d(layer: LayerContext, name: string, x: tf.Tensor4D, out: number, o: { groups: number; eps: number; temb?: tf.Tensor2D }): tf.Tensor4D {
  let h = groupNorm(layer, `${name}.norm1`, x, o.groups, { silu: true, eps: o.eps });
  h = conv(layer, `${name}.conv1`, h, out, 3);
  if (o.temb !== undefined) h = tf.add(h, linear(layer, `${name}.time_emb_proj`, silu(o.temb), out).reshape([x.shape[0], 1, 1, out]));
  h = groupNorm(layer, `${name}.norm2`, h, o.groups, { silu: true, eps: o.eps });
  h = conv(layer, `${name}.conv2`, h, out, 3);
  const skip = x.shape[3] === out ? x : conv(layer, `${name}.conv_shortcut`, x, out, 1);
  return tf.add(skip, h);
}
