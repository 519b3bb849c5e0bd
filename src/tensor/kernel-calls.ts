import * as tf from '@tensorflow/tfjs';

// composing kernels at the kernel level (not tf ops) keeps the routed work off the autodiff tape
// and lets one backend-specific kernel stand in for another transparently.

export type KernelAttrs = Record<string, unknown>;
export type KernelInputs = Record<string, tf.TensorInfo>;
type RawKernelFunc = (args: { inputs: KernelInputs; backend: tf.KernelBackend; attrs?: KernelAttrs }) => tf.TensorInfo | tf.TensorInfo[];

/** a kernel implementation captured from the registry, callable with tensor infos */
export type KernelCall = (inputs: KernelInputs, attrs: KernelAttrs, backend: tf.KernelBackend) => tf.TensorInfo;

export const captureKernel = (kernelName: string, backendName: string): KernelCall | undefined => {
  const config = tf.getKernel(kernelName, backendName);
  if (config === undefined) return undefined;
  const fn = config.kernelFunc as unknown as RawKernelFunc;
  return (inputs, attrs, backend) => {
    const out = fn({ inputs, backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several outputs`);
    return out;
  };
};

/** a registry lookup done at call time, so a kernel that is itself routed is used as routed */
export const requireKernel = (kernelName: string, backendName: string): KernelCall => {
  const call = captureKernel(kernelName, backendName);
  if (call === undefined) throw new Error(`kernel ${kernelName} is not registered for backend ${backendName}`);
  return call;
};

/** tracks intermediate tensor infos and frees them once the result is built */
export class Scratch {
  private readonly held: tf.TensorInfo[] = [];
  constructor(private readonly backend: tf.KernelBackend) {}
  keep(info: tf.TensorInfo): tf.TensorInfo {
    this.held.push(info);
    return info;
  }
  release(): void {
    for (const info of this.held) this.backend.disposeData(info.dataId);
    this.held.length = 0;
  }
}
