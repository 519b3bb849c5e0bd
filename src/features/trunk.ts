import * as tf from '@tensorflow/tfjs';
import { conv, linear, type LayerContext } from '../nn/layers.js';
import type { ParamMap } from '../nn/params.js';
import type { OnnxGraphBuilder } from '../onnx/graph-builder.js';
import { convToOnnx, linearToOnnx, samePads } from './onnx-layers.js';

/**
 * A small all-convolutional image trunk: 3×3 convs with ReLU, then the last map flattened (position matters
 * in this world: global average pooling would throw away where a shape is) and projected with ReLU.
 */
export interface TrunkSpec {
  channels: readonly number[];
  strides: readonly number[];
  /** width of the projected features */
  features: number;
  /**
   * ReLU on the projected features (the v1 default). Off, the FID space is the plain linear projection: a ReLU there
   * left most units dead (always zero), so FID saw few directions and large values
   */
  featureRelu?: boolean;
}

export const EMBEDDED_TRUNK: TrunkSpec = { channels: [32, 48, 48, 96, 96, 64], strides: [1, 2, 1, 2, 1, 2], features: 128, featureRelu: false };

/** NHWC images in, [N, features] out. */
export function trunkForward(ctx: LayerContext, prefix: string, x: tf.Tensor4D, spec: TrunkSpec): tf.Tensor2D {
  let h = x;
  spec.channels.forEach((c, i) => {
    h = tf.relu(conv(ctx, `${prefix}.conv${i}`, h, c, 3, { stride: spec.strides[i] ?? 1 }));
  });
  const features = linear(ctx, `${prefix}.fc`, h.reshape([h.shape[0], -1]), spec.features) as tf.Tensor2D;
  return spec.featureRelu === false ? features : tf.relu(features);
}

/** The same trunk as ONNX nodes over an NCHW input of side `size`; returns the pooled [N, C] value. */
export function trunkToOnnx(g: OnnxGraphBuilder, params: ParamMap, prefix: string, input: string, spec: TrunkSpec, size: number): string {
  let h = input;
  let side = size;
  spec.channels.forEach((_, i) => {
    const stride = spec.strides[i] ?? 1;
    h = g.node('Relu', [convToOnnx(g, params, `${prefix}.conv${i}`, h, stride, samePads(side, 3, stride))]);
    side = Math.ceil(side / stride);
  });
  // tfjs flattens (h, w, c); ONNX maps are (c, h, w): go to NHWC first so the fc weights line up
  const flat = g.node('Flatten', [g.node('Transpose', [h], { perm: [0, 2, 3, 1] })], { axis: 1 });
  const features = linearToOnnx(g, params, `${prefix}.fc`, flat);
  return spec.featureRelu === false ? features : g.node('Relu', [features]);
}
