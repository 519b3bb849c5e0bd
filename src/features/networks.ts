import * as tf from '@tensorflow/tfjs';
import { linear, type LayerContext } from '../nn/layers.js';
import type { ParamMap } from '../nn/params.js';
import { OnnxGraphBuilder } from '../onnx/graph-builder.js';
import { l2NormalizeOnnx, linearToOnnx } from './onnx-layers.js';
import { maskedMean, maskedMeanToOnnx, textTowerForward, textTowerToOnnx, type TextTowerSpec } from './text-tower.js';
import { trunkForward, trunkToOnnx, type TrunkSpec } from './trunk.js';

// The embedded world's feature networks, each written once for training (tfjs, NHWC) and once as ONNX
// (NCHW, what evaluation runs through onnxruntime like Inception and CLIP at real scale).

export interface PerceptionSpec {
  kind: 'perception';
  size: number;
  trunk: TrunkSpec;
  /** number of attribute logits (see attribute-heads.ts) */
  logits: number;
}

export interface ClipSpec {
  kind: 'clip';
  size: number;
  trunk: TrunkSpec;
  text: TextTowerSpec;
  embed: number;
}

/** Images are fed as (x − 128) / 128, clean-fid's normalisation, in NHWC for tfjs. */
export const normaliseImages = (nhwcUint8: tf.Tensor4D): tf.Tensor4D => tf.div(tf.sub(tf.cast(nhwcUint8, 'float32'), 128), 128) as tf.Tensor4D;

/** The perception network: pooled features (the FID space) and attribute logits (the faithfulness classifier). */
export function perceptionForward(ctx: LayerContext, spec: PerceptionSpec, x: tf.Tensor4D): { pool: tf.Tensor2D; logits: tf.Tensor2D } {
  const pool = trunkForward(ctx, 'trunk', x, spec.trunk);
  return { pool, logits: linear(ctx, 'head', pool, spec.logits) as tf.Tensor2D };
}

export function clipImageForward(ctx: LayerContext, spec: ClipSpec, x: tf.Tensor4D): tf.Tensor2D {
  return l2normalize(linear(ctx, 'image.proj', trunkForward(ctx, 'image.trunk', x, spec.trunk), spec.embed) as tf.Tensor2D);
}

export function clipTextForward(ctx: LayerContext, spec: ClipSpec, ids: tf.Tensor2D): { embeds: tf.Tensor2D; hidden: tf.Tensor3D } {
  const { hidden, mask } = textTowerForward(ctx, 'text', ids, spec.text);
  return { embeds: l2normalize(linear(ctx, 'text.proj', maskedMean(hidden, mask), spec.embed) as tf.Tensor2D), hidden };
}

const l2normalize = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true))) as tf.Tensor2D;

/** ONNX: `images` [N,3,S,S] (normalised) → `pool` [N,C], `logits` [N,K]. */
export function perceptionToOnnx(params: ParamMap, spec: PerceptionSpec): Uint8Array {
  const g = new OnnxGraphBuilder('vsdlab-embedded-perception');
  const x = g.input('images', 'float32', ['N', 3, spec.size, spec.size]);
  const pool = trunkToOnnx(g, params, 'trunk', x, spec.trunk, spec.size);
  g.node('Identity', [pool], {}, ['pool']);
  g.node('Identity', [linearToOnnx(g, params, 'head', pool)], {}, ['logits']);
  g.output('pool', 'float32', ['N', spec.trunk.features]);
  g.output('logits', 'float32', ['N', spec.logits]);
  return g.encode();
}

// OpenAI CLIP's normalisation, which the `clip` preprocessing mode applies (as for open_clip's towers)
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/**
 * ONNX image tower: `pixel_values` [N,3,S,S] normalised as CLIP's (x/255 − mean)/std, so the embedded tower
 * takes the same preprocessing as open_clip's; the graph maps it back to the (x − 128)/128 it was trained on.
 * Output `image_embeds` [N,E] (unit length).
 */
export function clipImageToOnnx(params: ParamMap, spec: ClipSpec): Uint8Array {
  const g = new OnnxGraphBuilder('vsdlab-embedded-clip-image');
  const input = g.input('pixel_values', 'float32', ['N', 3, spec.size, spec.size]);
  const scale = g.initializer('clip_to_trunk_scale', Float32Array.from(CLIP_STD, (s) => (s * 255) / 128), [1, 3, 1, 1]);
  const shift = g.initializer('clip_to_trunk_shift', Float32Array.from(CLIP_MEAN, (m) => (m * 255 - 128) / 128), [1, 3, 1, 1]);
  const x = g.node('Add', [g.node('Mul', [input, scale]), shift]);
  const proj = linearToOnnx(g, params, 'image.proj', trunkToOnnx(g, params, 'image.trunk', x, spec.trunk, spec.size));
  g.node('Identity', [l2NormalizeOnnx(g, proj)], {}, ['image_embeds']);
  g.output('image_embeds', 'float32', ['N', spec.embed]);
  return g.encode();
}

/** ONNX text tower: `input_ids` int64 [N,L] → `text_embeds` [N,E] (unit length), `last_hidden_state` [N,L,D]. */
export function clipTextToOnnx(params: ParamMap, spec: ClipSpec): Uint8Array {
  const g = new OnnxGraphBuilder('vsdlab-embedded-clip-text');
  const ids = g.input('input_ids', 'int64', ['N', spec.text.length]);
  const { hidden, mask } = textTowerToOnnx(g, params, 'text', ids, spec.text);
  g.node('Identity', [hidden], {}, ['last_hidden_state']);
  const proj = linearToOnnx(g, params, 'text.proj', maskedMeanToOnnx(g, hidden, mask));
  g.node('Identity', [l2NormalizeOnnx(g, proj)], {}, ['text_embeds']);
  g.output('text_embeds', 'float32', ['N', spec.embed]);
  g.output('last_hidden_state', 'float32', ['N', spec.text.length, spec.text.width]);
  return g.encode();
}
