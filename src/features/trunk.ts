import * as tf from '@tensorflow/tfjs';
import { conv, type LayerContext } from '../diffusion/unet/layers.js';
import type { ParamMap } from '../diffusion/unet/weights.js';
import type { OnnxGraphBuilder } from '../onnx/graph-builder.js';
import { convToOnnx, samePads } from './onnx-layers.js';

/** A small all-convolutional image trunk: 3×3 convs with ReLU, global average pooling. */
export interface TrunkSpec {
  channels: readonly number[];
  strides: readonly number[];
}

export const EMBEDDED_TRUNK: TrunkSpec = { channels: [32, 48, 48, 96, 96], strides: [1, 2, 1, 2, 1] };

/** NHWC images in, pooled [N, C] features out. */
export function trunkForward(ctx: LayerContext, prefix: string, x: tf.Tensor4D, spec: TrunkSpec): tf.Tensor2D {
  let h = x;
  spec.channels.forEach((c, i) => {
    h = tf.relu(conv(ctx, `${prefix}.conv${i}`, h, c, 3, { stride: spec.strides[i] ?? 1 }));
  });
  return tf.mean(h, [1, 2]) as tf.Tensor2D;
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
  return g.node('Flatten', [g.node('GlobalAveragePool', [h])], { axis: 1 });
}
