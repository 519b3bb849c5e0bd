// The layer kernels as one switch: linear (± LoRA), conv + bias and the attention core each run as one engine
// dispatch on the backends they are registered for (wasm and cpu), the op chains elsewhere. Both paths compute the
// same bits; what differs is what the engine sees: tf.profile records neither the kernels a layer kernel runs
// inside nor its gradient's (they are called directly), and the tape keeps different tensors. FLOP counts and the
// tape model therefore ask which path is active.
import { attentionKernelActive, registerAttentionKernel, unregisterAttentionKernel } from './attention-kernel.js';
import { convBiasKernelActive, registerConvBiasKernel, unregisterConvBiasKernel } from './conv-bias-kernel.js';
import { linearKernelActive, registerLinearKernels, unregisterLinearKernels } from './linear-kernel.js';

export const registerLayerKernels = (backendName: string): void => {
  registerLinearKernels(backendName);
  registerConvBiasKernel(backendName);
  registerAttentionKernel(backendName);
};

/** the op chains instead (tests compare the two; FLOP counting profiles the chains) */
export const unregisterLayerKernels = (backendName: string): void => {
  unregisterLinearKernels(backendName);
  unregisterConvBiasKernel(backendName);
  unregisterAttentionKernel(backendName);
};

/** whether the active backend runs the layer kernels (all three are registered and removed together) */
export const layerKernelsActive = (): boolean => linearKernelActive() && convBiasKernelActive() && attentionKernelActive();

/** runs fn on the op chains, then restores the layer kernels that were registered for backendName */
export const withOpChains = async <T>(backendName: string, fn: () => Promise<T> | T): Promise<T> => {
  const active = layerKernelsActive();
  unregisterLayerKernels(backendName);
  try {
    return await fn();
  } finally {
    if (active) registerLayerKernels(backendName);
  }
};
