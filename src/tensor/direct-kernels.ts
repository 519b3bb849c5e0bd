import * as tf from '@tensorflow/tfjs';
import { type KernelAttrs, type KernelInputs, requireKernel } from './kernel-calls.js';

// the layer kernels (linear-kernel.ts, conv-bias-kernel.ts) run the backend's own kernels one after another inside a
// single engine dispatch, and their gradients run them without the engine at all: each of those calls would
// otherwise pay runKernel's bookkeeping (scopes, tape node, saves, tracking) and the reshapes around it.

/** a kernel call on the backend a layer kernel runs on, looked up at call time (routed or profiled kernels as routed) */
export interface KernelSite {
  backend: tf.KernelBackend;
  backendName: string;
}

export const callKernel = (site: KernelSite, kernelName: string, inputs: KernelInputs, attrs: KernelAttrs = {}): tf.TensorInfo =>
  requireKernel(kernelName, site.backendName)(inputs, attrs, site.backend);

/** the same memory read with another shape, as the backends' Reshape does (no kernel, no reference taken: only for reading) */
export const viewAs = (info: tf.TensorInfo, shape: number[]): tf.TensorInfo => ({ dataId: info.dataId, shape, dtype: info.dtype });

export const freeInfo = (site: KernelSite, ...infos: tf.TensorInfo[]): void => {
  for (const info of infos) site.backend.disposeData(info.dataId);
};

/** a float32 scalar on the backend, as tf.mul(t, s) converts its number operand */
export const scalarInfo = (site: KernelSite, value: number): tf.TensorInfo => ({ dataId: site.backend.write(Float32Array.of(value), [], 'float32'), shape: [], dtype: 'float32' });

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

// tfjs-core's Engine method that wraps a kernel's output as a tracked tensor (what runKernel does with it)
interface TensorMakingEngine {
  backend: tf.KernelBackend;
  backendName: string;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
}

/** the engine's active backend, for a gradient function */
export const engineSite = (): KernelSite => {
  const engine = tf.engine() as unknown as TensorMakingEngine;
  return { backend: engine.backend, backendName: engine.backendName };
};

/** a kernel output (a new buffer, owned by the result) as a tensor tracked in the active scope, with `shape` */
export const asTensor = (info: tf.TensorInfo, shape: number[] = info.shape): tf.Tensor =>
  (tf.engine() as unknown as TensorMakingEngine).makeTensorFromTensorInfo({ dataId: info.dataId, shape, dtype: info.dtype });
