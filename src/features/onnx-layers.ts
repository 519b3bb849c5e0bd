import * as tf from '@tensorflow/tfjs';
import type { ParamMap } from '../nn/params.js';
import type { OnnxGraphBuilder } from '../onnx/graph-builder.js';

// tfjs weights as ONNX initialisers: convs go from [kh, kw, in, out] (NHWC) to [out, in, kh, kw] (NCHW)

const param = (params: ParamMap, name: string): tf.Tensor => {
  const p = params[name];
  if (p === undefined) throw new Error(`onnx export: missing weight ${name}`);
  return p;
};

export function weightToOnnx(g: OnnxGraphBuilder, params: ParamMap, name: string, perm?: number[]): string {
  const w = param(params, name);
  const data = tf.tidy(() => (perm ? tf.transpose(w, perm) : w).dataSync() as Float32Array);
  const dims = perm ? perm.map((p) => w.shape[p] as number) : w.shape;
  return g.initializer(name, new Float32Array(data), dims);
}

/** tfjs 'same' padding (TensorFlow's: the extra pixel goes after) as ONNX pads [top, left, bottom, right]. */
export function samePads(size: number, kernel: number, stride: number): number[] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, before, total - before, total - before];
}

export function convToOnnx(g: OnnxGraphBuilder, params: ParamMap, name: string, x: string, stride: number, pads: number[]): string {
  const w = weightToOnnx(g, params, `${name}.w`, [3, 2, 0, 1]);
  const b = weightToOnnx(g, params, `${name}.b`);
  const k = param(params, `${name}.w`).shape[0] as number;
  return g.node('Conv', [x, w, b], { kernel_shape: [k, k], strides: [stride, stride], pads });
}

/** x [.., in] · W [in, out] + b, as the tfjs `linear` layer. */
export function linearToOnnx(g: OnnxGraphBuilder, params: ParamMap, name: string, x: string, bias = true): string {
  const y = g.node('MatMul', [x, weightToOnnx(g, params, `${name}.w`)]);
  return bias ? g.node('Add', [y, weightToOnnx(g, params, `${name}.b`)]) : y;
}

export function layerNormToOnnx(g: OnnxGraphBuilder, params: ParamMap, name: string, x: string): string {
  return g.node('LayerNormalization', [x, weightToOnnx(g, params, `${name}.gamma`), weightToOnnx(g, params, `${name}.beta`)], { axis: -1, epsilon: { float: 1e-5 } });
}

/** x / ||x||₂ over the last axis. */
export const l2NormalizeOnnx = (g: OnnxGraphBuilder, x: string): string => g.node('LpNormalization', [x], { axis: -1, p: 2 });
