import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-calls.js';
import { type KernelSite, asTensor, callKernel, engineSite, freeInfo } from './direct-kernels.js';

// conv2d(x, filter) + bias (nn/layers.ts conv without a LoRA delta) as ONE engine dispatch and one tape node instead
// of Conv2D, Add and, in the gradient, Reshape, Sum, Reshape and the two conv2d gradient ops. The kernel runs the
// Conv2D and Add kernels tf.conv2d and tf.add ran, with the same attributes; its gradient runs the kernels tfjs's
// Conv2D and Add gradients run (Conv2DBackpropInput, Conv2DBackpropFilter, Sum over the batch and spatial axes),
// so every bit is the op pair's (test/nn/fused-conv-bias.test.ts).

export const CONV_BIAS = 'VsdlabConv2DBias';

type Infos = Record<string, tf.TensorInfo | undefined>;
type KernelArgs = { inputs: Infos; backend: tf.KernelBackend; attrs?: KernelAttrs };

const need = (infos: Infos, name: string): tf.TensorInfo => {
  const info = infos[name];
  if (info === undefined) throw new Error(`${CONV_BIAS}: input ${name} missing`);
  return info;
};

/** tf.conv2d's attributes for Conv2D (its defaults: NHWC, no dilation) */
const convAttrs = (attrs: KernelAttrs): KernelAttrs => ({ strides: attrs['strides'], pad: attrs['pad'], dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined });

const forward = (backendName: string) => (args: KernelArgs): tf.TensorInfo => {
  const site: KernelSite = { backend: args.backend, backendName };
  const y = callKernel(site, tf.Conv2D, { x: need(args.inputs, 'x'), filter: need(args.inputs, 'filter') }, convAttrs(args.attrs ?? {}));
  const out = callKernel(site, tf.Add, { a: y, b: need(args.inputs, 'bias') });
  freeInfo(site, y);
  return out;
};

tf.registerGradient({
  kernelName: CONV_BIAS,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dys, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor, tf.Tensor];
    const dy = Array.isArray(dys) ? dys[0] : dys;
    if (dy === undefined) throw new Error(`${CONV_BIAS} gradient called without dy`);
    const site = engineSite();
    // what tfjs's conv2DBackpropInput / conv2DBackpropFilter ops pass (4-D x: no reshapes)
    const { strides, pad } = attrs as KernelAttrs;
    const common = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    return {
      x: () => asTensor(callKernel(site, tf.Conv2DBackpropInput, { dy, filter }, { ...common, inputShape: x.shape })),
      filter: () => asTensor(callKernel(site, tf.Conv2DBackpropFilter, { x, dy }, { ...common, filterShape: filter.shape })),
      // Add's gradient for the broadcast bias: Sum over every axis but the channels
      bias: () => asTensor(callKernel(site, tf.Sum, { x: dy }, { axis: [0, 1, 2], keepDims: false })),
    };
  },
});

export const CONV_BIAS_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

export const registerConvBiasKernel = (backendName: string): void => {
  if (tf.getKernel(CONV_BIAS, backendName) === undefined) tf.registerKernel({ kernelName: CONV_BIAS, backendName, kernelFunc: forward(backendName) as unknown as tf.KernelConfig['kernelFunc'] });
};

/** removes it: conv falls back to tf.conv2d + tf.add (tests and benchmarks compare the two) */
export const unregisterConvBiasKernel = (backendName: string): void => {
  if (tf.getKernel(CONV_BIAS, backendName) !== undefined) tf.unregisterKernel(CONV_BIAS, backendName);
};

for (const backendName of CONV_BIAS_KERNEL_BACKENDS) registerConvBiasKernel(backendName);

export const convBiasKernelActive = (): boolean => tf.getKernel(CONV_BIAS, tf.getBackend()) !== undefined;

/** conv2d(x, filter, stride, pad) + bias, NHWC, one dispatch (see convBiasKernelActive) */
export const fusedConvBias = (x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, strides: number, pad: 'same' | number[][]): tf.Tensor4D =>
  tf.engine().runKernel(CONV_BIAS, { x, filter, bias }, { strides, pad }) as tf.Tensor4D;
