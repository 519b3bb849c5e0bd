import * as tf from '@tensorflow/tfjs';
import { layerNorm, linear, type LayerContext } from '../nn/layers.js';
import type { ParamMap } from '../nn/params.js';
import type { OnnxGraphBuilder } from '../onnx/graph-builder.js';
import { layerNormToOnnx, linearToOnnx, weightToOnnx } from './onnx-layers.js';

/**
 * A small pre-LN transformer text encoder over word ids (pad = 0). Its per-token hidden states condition the
 * embedded teacher (as SD's CLIP text encoder does); its masked mean, projected, is the CLIP text embedding.
 */
export interface TextTowerSpec {
  vocab: number;
  length: number;
  width: number;
  layers: number;
  heads: number;
  mlp: number;
}

/** [N, L] int32 ids → hidden [N, L, D] and the float mask [N, L] of real (non-pad) tokens. */
export function textTowerForward(ctx: LayerContext, prefix: string, ids: tf.Tensor2D, spec: TextTowerSpec): { hidden: tf.Tensor3D; mask: tf.Tensor2D } {
  const [n, l] = ids.shape;
  if (l !== spec.length) throw new Error(`text tower: ${l} tokens, the tower takes ${spec.length}`);
  const tok = ctx.weights.get(`${prefix}.token_embedding`, [spec.vocab, spec.width], 'fanIn');
  const pos = ctx.weights.get(`${prefix}.position_embedding`, [spec.length, spec.width], 'fanIn');
  // one-hot · table instead of gather: gather's gradient (UnsortedSegmentSum) is missing on the wasm backend
  const lookup = tf.matMul(tf.oneHot(ids.flatten(), spec.vocab), tok as tf.Tensor2D);
  let x = tf.add(lookup.reshape([n, l, spec.width]), pos) as tf.Tensor3D;
  const mask = tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
  const bias = tf.mul(tf.sub(1, mask), -1e4).reshape([n, 1, 1, l]);
  const dh = spec.width / spec.heads;
  const split = (t: tf.Tensor): tf.Tensor4D => t.reshape([n, l, spec.heads, dh]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
  for (let i = 0; i < spec.layers; i++) {
    const p = `${prefix}.layer${i}`;
    const h = layerNorm(ctx, `${p}.ln1`, x);
    const q = split(linear(ctx, `${p}.q`, h, spec.width));
    const k = split(linear(ctx, `${p}.k`, h, spec.width));
    const v = split(linear(ctx, `${p}.v`, h, spec.width));
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), bias);
    const att = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([n, l, spec.width]);
    x = tf.add(x, linear(ctx, `${p}.o`, att, spec.width)) as tf.Tensor3D;
    const m = linear(ctx, `${p}.mlp2`, tf.relu(linear(ctx, `${p}.mlp1`, layerNorm(ctx, `${p}.ln2`, x), spec.mlp)), spec.width);
    x = tf.add(x, m) as tf.Tensor3D;
  }
  return { hidden: layerNorm(ctx, `${prefix}.ln_final`, x) as tf.Tensor3D, mask };
}

/** Mean of the hidden states over real tokens: [N, D]. */
export function maskedMean(hidden: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const m = mask.expandDims(2);
  return tf.div(tf.sum(tf.mul(hidden, m), 1), tf.sum(m, 1)) as tf.Tensor2D;
}

/** The same tower as ONNX nodes; `ids` is an int64 [N, L] graph input. Returns hidden [N, L, D] and mask. */
export function textTowerToOnnx(g: OnnxGraphBuilder, params: ParamMap, prefix: string, ids: string, spec: TextTowerSpec): { hidden: string; mask: string } {
  const tok = weightToOnnx(g, params, `${prefix}.token_embedding`);
  const pos = weightToOnnx(g, params, `${prefix}.position_embedding`);
  let x = g.node('Add', [g.node('Gather', [tok, ids], { axis: 0 }), pos]);
  const mask = g.node('Cast', [g.node('Not', [g.node('Equal', [ids, g.int64(g.fresh('pad_id'), [0])])])], { to: 1 });
  const bias = g.node('Unsqueeze', [g.node('Mul', [g.node('Sub', [g.scalar(g.fresh('one'), 1), mask]), g.scalar(g.fresh('neg'), -1e4)]), g.int64(g.fresh('axes'), [1, 2])]);
  const dh = spec.width / spec.heads;
  const heads = g.int64(g.fresh('heads_shape'), [0, 0, spec.heads, dh]);
  const merged = g.int64(g.fresh('merged_shape'), [0, 0, spec.width]);
  const split = (t: string): string => g.node('Transpose', [g.node('Reshape', [t, heads])], { perm: [0, 2, 1, 3] });
  for (let i = 0; i < spec.layers; i++) {
    const p = `${prefix}.layer${i}`;
    const h = layerNormToOnnx(g, params, `${p}.ln1`, x);
    const q = split(linearToOnnx(g, params, `${p}.q`, h));
    const kT = g.node('Transpose', [g.node('Reshape', [linearToOnnx(g, params, `${p}.k`, h), heads])], { perm: [0, 2, 3, 1] });
    const v = split(linearToOnnx(g, params, `${p}.v`, h));
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, kT]), g.scalar(g.fresh('scale'), 1 / Math.sqrt(dh))]), bias]);
    const att = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), v])], { perm: [0, 2, 1, 3] }), merged]);
    x = g.node('Add', [x, linearToOnnx(g, params, `${p}.o`, att)]);
    const m = linearToOnnx(g, params, `${p}.mlp2`, g.node('Relu', [linearToOnnx(g, params, `${p}.mlp1`, layerNormToOnnx(g, params, `${p}.ln2`, x))]));
    x = g.node('Add', [x, m]);
  }
  return { hidden: layerNormToOnnx(g, params, `${prefix}.ln_final`, x), mask };
}

export function maskedMeanToOnnx(g: OnnxGraphBuilder, hidden: string, mask: string): string {
  const summed = g.node('ReduceSum', [g.node('Mul', [hidden, g.node('Unsqueeze', [mask, g.int64(g.fresh('axes'), [2])])]), g.int64(g.fresh('axes'), [1])], { keepdims: 0 });
  const count = g.node('ReduceSum', [mask, g.int64(g.fresh('axes'), [1])], { keepdims: 1 });
  return g.node('Div', [summed, count]);
}
