import * as tf from '@tensorflow/tfjs';
import { conv, groupNorm, linear, silu, type LayerContext } from '../../nn/layers.js';

/**
 * diffusers' ResnetBlock2D with the defaults SD's UNet and VAE use (time embedding added after conv1, no scale-shift,
 * output scale 1, dropout off): GN → SiLU → conv → (+ time) → GN → SiLU → conv, plus the input (1×1 conv when the
 * channel count changes). The VAE's blocks have no time embedding.
 */
export function resnetBlock2d(layer: LayerContext, name: string, x: tf.Tensor4D, out: number, o: ResnetOptions): tf.Tensor4D {
  return resnetSum(layer, name, x, out, resnetBranch(layer, name, x, out, o));
}

export interface ResnetOptions {
  groups: number;
  eps: number;
  temb?: tf.Tensor2D | undefined;
}

/** the block's residual branch, GN → SiLU → conv → (+ time) → GN → SiLU → conv: what gradient checkpointing recomputes */
export function resnetBranch(layer: LayerContext, name: string, x: tf.Tensor4D, out: number, o: ResnetOptions): tf.Tensor4D {
  let h = groupNorm(layer, `${name}.norm1`, x, o.groups, { silu: true, eps: o.eps });
  h = conv(layer, `${name}.conv1`, h, out, 3);
  if (o.temb !== undefined) h = tf.add(h, linear(layer, `${name}.time_emb_proj`, silu(o.temb), out).reshape([x.shape[0], 1, 1, out]));
  h = groupNorm(layer, `${name}.norm2`, h, o.groups, { silu: true, eps: o.eps });
  return conv(layer, `${name}.conv2`, h, out, 3);
}

/** the input (through the 1×1 shortcut conv when the channel count changes) plus the branch */
export function resnetSum(layer: LayerContext, name: string, x: tf.Tensor4D, out: number, branch: tf.Tensor4D): tf.Tensor4D {
  const skip = x.shape[3] === out ? x : conv(layer, `${name}.conv_shortcut`, x, out, 1);
  return tf.add(skip, branch);
}
