import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-calls.js';
import { type KernelSite, asTensor, callKernel, elementCount, engineSite, freeInfo, scalarInfo, viewAs } from './direct-kernels.js';

// y = x W (+ s·(x A) B) (+ b) over the last axis as ONE engine dispatch and one tape node (nn/layers.ts linear). The
// op chain it replaces (reshape to 2-D, matMul, LoRA matMuls and scale, add, add bias, reshape back) cost 4-8
// dispatches forward and 7-13 in its gradient, most of them reshapes. The kernel runs the very kernels those ops
// ran, on the same inputs with the same attributes, in the same order; reshapes are views. Its gradient runs the
// kernels tfjs's own gradients of those ops run (BatchMatMul, Multiply, Add, Sum), accumulating the two
// contributions to x exactly as the engine did (LoRA's first: it came later on the tape). Every output bit is the
// old chain's (test/tensor/linear-kernel.test.ts). The node sits where the chain's first op sat, so a tensor
// consumed by several layers still sums its gradients in the same order.

export const LINEAR = 'VsdlabLinear';
/** with a LoRA pair: a second output, x·A, kept for the gradient (the chain's tape kept it as a matMul input) */
export const LORA_LINEAR = 'VsdlabLoraLinear';

const PLAIN = { transposeA: false, transposeB: false };
const TRANSPOSED_B = { transposeA: false, transposeB: true };
const TRANSPOSED_A = { transposeA: true, transposeB: false };

type Infos = Record<string, tf.TensorInfo | undefined>;
type KernelArgs = { inputs: Infos; backend: tf.KernelBackend; attrs?: KernelAttrs };

const need = (infos: Infos, name: string): tf.TensorInfo => {
  const info = infos[name];
  if (info === undefined) throw new Error(`${LINEAR}: input ${name} missing`);
  return info;
};

const dims = (w: tf.TensorInfo, x: tf.TensorInfo): { inDim: number; outDim: number; rows: number } => {
  const [inDim, outDim] = w.shape as [number, number];
  return { inDim, outDim, rows: inDim === 0 ? 0 : elementCount(x.shape) / inDim };
};

const loraScaleOf = (attrs: KernelAttrs): number => {
  const s = attrs['loraScale'];
  if (typeof s !== 'number') throw new Error(`${LORA_LINEAR}: attribute loraScale missing`);
  return s;
};

const forward = (backendName: string) => (args: KernelArgs): tf.TensorInfo[] => {
  const site: KernelSite = { backend: args.backend, backendName };
  const attrs = args.attrs ?? {};
  const x = need(args.inputs, 'x');
  const w = need(args.inputs, 'w');
  const bias = args.inputs['b'];
  const loraA = args.inputs['loraA'];
  const loraB = args.inputs['loraB'];
  const { inDim, outDim, rows } = dims(w, x);
  const x2d = viewAs(x, [rows, inDim]);
  let y = callKernel(site, tf.BatchMatMul, { a: x2d, b: w }, PLAIN);
  let xa: tf.TensorInfo | undefined;
  if (loraA !== undefined && loraB !== undefined) {
    // lora.ts loraDelta: mul(matMul(matMul(x2d, A), B), alpha / rank), added before the bias
    xa = callKernel(site, tf.BatchMatMul, { a: x2d, b: loraA }, PLAIN);
    const xab = callKernel(site, tf.BatchMatMul, { a: xa, b: loraB }, PLAIN);
    const scale = scalarInfo(site, loraScaleOf(attrs));
    const delta = callKernel(site, tf.Multiply, { a: xab, b: scale });
    freeInfo(site, xab, scale);
    const sum = callKernel(site, tf.Add, { a: y, b: delta });
    freeInfo(site, y, delta);
    y = sum;
  }
  if (bias !== undefined) {
    const withBias = callKernel(site, tf.Add, { a: y, b: bias });
    freeInfo(site, y);
    y = withBias;
  }
  const out = viewAs(y, [...x.shape.slice(0, -1), outDim]);
  if (xa === undefined) return [out];
  if (attrs['keepXa'] === true) return [out, xa];
  freeInfo(site, xa);
  return [out];
};

const firstDy = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => {
  const t = Array.isArray(dy) ? dy[0] : dy;
  if (t === undefined) throw new Error(`${LINEAR} gradient called without dy`);
  return t;
};

/** the gradients of W and b (the same in both kernels): BatchMatMul's for its b, Add's for a broadcast b */
const weightGrads = (site: KernelSite, x2d: tf.TensorInfo, dy2d: tf.TensorInfo, outDim: number) => ({
  w: () => asTensor(callKernel(site, tf.BatchMatMul, { a: x2d, b: dy2d }, TRANSPOSED_A)),
  b: () => asTensor(callKernel(site, tf.Sum, { x: dy2d }, { axis: [0], keepDims: false }), [outDim]),
});

tf.registerGradient({
  kernelName: LINEAR,
  inputsToSave: ['x', 'w'],
  gradFunc: (dy, saved) => {
    const [x, w] = saved as [tf.Tensor, tf.Tensor];
    const site = engineSite();
    const { inDim, outDim, rows } = dims(w, x);
    const x2d = viewAs(x, [rows, inDim]);
    const dy2d = viewAs(firstDy(dy), [rows, outDim]);
    return {
      x: () => asTensor(callKernel(site, tf.BatchMatMul, { a: dy2d, b: w }, TRANSPOSED_B), x.shape),
      ...weightGrads(site, x2d, dy2d, outDim),
    };
  },
});

tf.registerGradient({
  kernelName: LORA_LINEAR,
  inputsToSave: ['x', 'w', 'loraA', 'loraB'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, w, loraA, loraB, xa] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const site = engineSite();
    const { inDim, outDim, rows } = dims(w, x);
    const x2d = viewAs(x, [rows, inDim]);
    const dy2d = viewAs(firstDy(dys), [rows, outDim]);
    // the scale's gradient (Multiply's for a), then the second matMul's for its a: shared by x and A. Tracked in
    // the backward scope, as the chain's intermediate gradients were
    const scale = scalarInfo(site, loraScaleOf(attrs as KernelAttrs));
    const dXab = callKernel(site, tf.Multiply, { a: dy2d, b: scale });
    freeInfo(site, scale);
    const dXa = callKernel(site, tf.BatchMatMul, { a: dXab, b: loraB }, TRANSPOSED_B);
    asTensor(dXab);
    asTensor(dXa);
    return {
      x: () => {
        // the engine summed x2d's two gradients in reverse tape order: the LoRA matMul's, then the base matMul's
        const viaLora = callKernel(site, tf.BatchMatMul, { a: dXa, b: loraA }, TRANSPOSED_B);
        const viaBase = callKernel(site, tf.BatchMatMul, { a: dy2d, b: w }, TRANSPOSED_B);
        const dx = callKernel(site, tf.Add, { a: viaLora, b: viaBase });
        freeInfo(site, viaLora, viaBase);
        return asTensor(dx, x.shape);
      },
      ...weightGrads(site, x2d, dy2d, outDim),
      loraA: () => asTensor(callKernel(site, tf.BatchMatMul, { a: x2d, b: dXa }, TRANSPOSED_A)),
      loraB: () => asTensor(callKernel(site, tf.BatchMatMul, { a: xa, b: dXab }, TRANSPOSED_A)),
    };
  },
});

/** the backends the kernels run on (any backend with these tfjs kernels would do; these are the ones tested) */
export const LINEAR_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

export const registerLinearKernels = (backendName: string): void => {
  for (const kernelName of [LINEAR, LORA_LINEAR]) {
    if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc: forward(backendName) as unknown as tf.KernelConfig['kernelFunc'] });
  }
};

/** removes them: linear falls back to the op chain (tests and benchmarks compare the two) */
export const unregisterLinearKernels = (backendName: string): void => {
  for (const kernelName of [LINEAR, LORA_LINEAR]) if (tf.getKernel(kernelName, backendName) !== undefined) tf.unregisterKernel(kernelName, backendName);
};

for (const backendName of LINEAR_KERNEL_BACKENDS) registerLinearKernels(backendName);

export const linearKernelActive = (): boolean => tf.getKernel(LINEAR, tf.getBackend()) !== undefined;

/** a LoRA pair with its scale alpha / rank */
export interface LoraPair {
  a: tf.Tensor;
  b: tf.Tensor;
  scale: number;
}

/** y = x w (+ scale·(x a) b) (+ bias) over the last axis of float32 x, one dispatch (see linearKernelActive) */
export const fusedLinear = (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | undefined, lora: LoraPair | undefined): tf.Tensor => {
  const inputs: tf.NamedTensorMap = { x, w };
  if (bias !== undefined) inputs['b'] = bias;
  if (lora === undefined) return onlyFirst(tf.engine().runKernel(LINEAR, inputs));
  inputs['loraA'] = lora.a;
  inputs['loraB'] = lora.b;
  // x·A is an output only while a gradient is recorded
  return onlyFirst(tf.engine().runKernel(LORA_LINEAR, inputs, { loraScale: lora.scale, keepXa: tf.engine().isTapeOn() }));
};

/** the layer's output; x·A, if there, is only for the gradient, which keeps its own reference */
const onlyFirst = (out: tf.Tensor | tf.Tensor[]): tf.Tensor => {
  if (!Array.isArray(out)) return out;
  const [y, ...rest] = out;
  if (y === undefined) throw new Error(`${LINEAR} returned nothing`);
  tf.dispose(rest);
  return y;
};
