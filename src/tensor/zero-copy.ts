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
