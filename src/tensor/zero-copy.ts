import type * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';

// tfjs saves every tensor a gradient needs through the Identity kernel, and the gradient of that save is a
// same-type Cast; wasm implements both as full copies (≈ 1,600 copies in one UNet forward + backward). tensor
// memory is never written after it is made (Reshape already shares it), so sharing the buffer under a
// reference count, as the cpu backend does, is equivalent and free.

const share = (x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo => {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Identity without a copy (strings keep the original kernel) */
export const sharedIdentity = (original: KernelCall): KernelCall => (inputs, attrs, backend) => {
  const x = inputs['x'];
  if (x === undefined) throw new Error('Identity called without x');
  return x.dtype === 'string' ? original(inputs, attrs, backend) : share(x, backend);
};

/** a Cast to the type the tensor already has, without a copy */
export const sharedSameTypeCast = (original: KernelCall): KernelCall => (inputs, attrs, backend) => {
  const x = inputs['x'];
  if (x === undefined) throw new Error('Cast called without x');
  return x.dtype === attrs['dtype'] && x.dtype !== 'string' && x.dtype !== 'complex64' ? share(x, backend) : original(inputs, attrs, backend);
};

// tfjs-core's Engine internals that its clone() (the save of every tensor a gradient needs) uses
interface CloningEngine {
  clone(x: tf.Tensor): tf.Tensor;
  backend: tf.KernelBackend;
  backendName: string;
  state: { profiling: boolean };
  ENV: { getBool(flag: string): boolean };
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
}

let originalClone: ((x: tf.Tensor) => tf.Tensor) | undefined;

/**
 * the engine's saves (≈ 1,900 per VSD step) call the registered Identity kernel directly instead of through
 * runKernel, whose bookkeeping (registry lookups, scope, leak checks, profiler hooks) costs more than the shared
 * Identity itself, and they leave no tape node: tfjs's clone() records one (x → the saved copy), but a saved copy is
 * only ever read by a gradient function, never an input of a recorded op, so backprop always prunes that node
 * (getFilteredNodesXToY walks ≈ 40 % fewer nodes). The saved tensor is the same kernel output, tracked in the
 * active scope as before. Profiling and tfjs's leak checks keep the original path.
 */
export const installDirectSaves = (tfjs: typeof tf): void => {
  const engine = tfjs.engine() as unknown as CloningEngine;
  if (originalClone !== undefined) return;
  const original = engine.clone;
  originalClone = original;
  engine.clone = function clone(this: CloningEngine, x: tf.Tensor): tf.Tensor {
    if (this.state.profiling || this.ENV.getBool('DEBUG') || this.ENV.getBool('IS_TEST')) return original.call(this, x);
    const backend = this.backend;
    const kernel = tfjs.getKernel(tfjs.Identity, this.backendName);
    if (kernel === undefined) return original.call(this, x);
    const info = (kernel.kernelFunc as unknown as (args: { inputs: { x: tf.TensorInfo }; backend: tf.KernelBackend; attrs: Record<string, unknown> }) => tf.TensorInfo)({ inputs: { x }, backend, attrs: {} });
    const y = this.makeTensorFromTensorInfo(info);
    return y;
  };
};

/** puts tfjs's own Engine.clone back */
export const uninstallDirectSaves = (tfjs: typeof tf): void => {
  if (originalClone === undefined) return;
  (tfjs.engine() as unknown as CloningEngine).clone = originalClone;
  originalClone = undefined;
};
