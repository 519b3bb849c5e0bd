import * as tf from '@tensorflow/tfjs';
import { type LayerContext, conv, geglu, groupNorm, layerNorm, linear, silu } from '../../nn/layers.js';
import { attentionKernelActive, fusedAttention } from '../../tensor/attention-kernel.js';

/** SD's ResnetBlock2D: GN-SiLU-conv, + projected time embedding, GN-SiLU-conv, 1x1 skip when channels change */
export const resBlock = (ctx: LayerContext, name: string, x: tf.Tensor4D, temb: tf.Tensor2D, outChannels: number, groups: number): tf.Tensor4D => {
  const inChannels = x.shape[3];
  let h = conv(ctx, `${name}.conv1`, groupNorm(ctx, `${name}.norm1`, x, groups, { silu: true }), outChannels, 3);
  const t = linear(ctx, `${name}.time_proj`, silu(temb), outChannels);
  h = tf.add(h, t.reshape([t.shape[0] ?? 1, 1, 1, outChannels]));
  h = conv(ctx, `${name}.conv2`, groupNorm(ctx, `${name}.norm2`, h, groups, { silu: true }), outChannels, 3, { init: 'zeros' });
  const skip = inChannels === outChannels ? x : conv(ctx, `${name}.skip`, x, outChannels, 1);
  return tf.add(skip, h);
};

/** multi-head attention with to_q / to_k / to_v / to_out projections (the names LoRA targets) */
export const attention = (ctx: LayerContext, name: string, x: tf.Tensor3D, context: tf.Tensor3D, heads: number): tf.Tensor3D => {
  const [b, n, c] = x.shape;
  const m = context.shape[1];
  const q = linear(ctx, `${name}.to_q`, x, c, { bias: false }) as tf.Tensor3D;
  const k = linear(ctx, `${name}.to_k`, context, c, { bias: false }) as tf.Tensor3D;
  const v = linear(ctx, `${name}.to_v`, context, c, { bias: false }) as tf.Tensor3D;
  // one dispatch for the whole core below, the same bits (tensor/attention-kernel.ts)
  const fused = attentionKernelActive() && q.dtype === 'float32' && k.dtype === 'float32' && v.dtype === 'float32';
  const out = fused ? fusedAttention(q, k, v, heads) : attentionCore(q, k, v, b, n, m, c, heads);
  return linear(ctx, `${name}.to_out`, out, c) as tf.Tensor3D;
};

/** the attention core as tfjs ops: the reference the fused kernel reproduces, and the path on backends without it */
const attentionCore = (qp: tf.Tensor3D, kp: tf.Tensor3D, vp: tf.Tensor3D, b: number, n: number, m: number, c: number, heads: number): tf.Tensor3D => {
  const dh = c / heads;
  const split = (t: tf.Tensor, len: number): tf.Tensor4D => t.reshape([b, len, heads, dh]).transpose([0, 2, 1, 3]);
  const q = split(qp, n);
  const k = split(kp, m);
  const v = split(vp, m);
  const weights = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)));
  return tf.matMul(weights, v).transpose([0, 2, 1, 3]).reshape([b, n, c]);
};

/** SD's Transformer2DModel with one BasicTransformerBlock: self-attn, cross-attn to text, GEGLU feed-forward */
export const transformerBlock = (ctx: LayerContext, name: string, x: tf.Tensor4D, cond: tf.Tensor3D, heads: number, groups: number): tf.Tensor4D => {
  const [b, h, w, c] = x.shape;
  const normed = groupNorm(ctx, `${name}.norm`, x, groups);
  let tokens = linear(ctx, `${name}.proj_in`, normed, c).reshape([b, h * w, c]) as tf.Tensor3D;
  const selfIn = layerNorm(ctx, `${name}.ln1`, tokens) as tf.Tensor3D;
  tokens = tf.add(tokens, attention(ctx, `${name}.attn1`, selfIn, selfIn, heads));
  tokens = tf.add(tokens, attention(ctx, `${name}.attn2`, layerNorm(ctx, `${name}.ln2`, tokens) as tf.Tensor3D, cond, heads));
  const projected = linear(ctx, `${name}.ff.proj`, layerNorm(ctx, `${name}.ln3`, tokens), 8 * c);
  tokens = tf.add(tokens, linear(ctx, `${name}.ff.out`, geglu(projected), c));
  const out = linear(ctx, `${name}.proj_out`, tokens, c, { init: 'zeros' }).reshape([b, h, w, c]);
  return tf.add(x, out);
};
