import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-calls.js';
import { isWasmHeapBackend } from './wasm-heap.js';

// element-wise work is memory-bound: one JS pass over the float32 values beats a chain of wasm kernels, each
// with its own allocation and full pass. a JS kernel is a plain function over float32 arrays; this module
// hands it the arrays behind the tensors without copies: views of the wasm heap, or the cpu backend's arrays.

/** a kernel written as loops over float32 arrays: the same body runs on the wasm and the cpu backend */
export interface JsKernel {
  name: string;
  /** input names, in the order the body receives them */
  inputs: readonly string[];
  /** the output shapes for these input shapes */
  outputShapes: (shapes: readonly number[][], attrs: KernelAttrs) => number[][];
  /** reads `ins`, writes every element of `outs`; must not call tfjs (no heap allocation while views are held) */
  run: (ins: readonly Float32Array[], outs: Float32Array[], shapes: readonly number[][], attrs: KernelAttrs) => void;
}

/** the backends whose tensor values JS can reach directly */
export const JS_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;
export type JsKernelBackend = (typeof JS_KERNEL_BACKENDS)[number];

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const inputInfos = (kernel: JsKernel, inputs: Record<string, tf.TensorInfo | undefined>): tf.TensorInfo[] =>
  kernel.inputs.map((name) => {
    const info = inputs[name];
    if (info === undefined) throw new Error(`${kernel.name}: input ${name} missing`);
    if (info.dtype !== 'float32') throw new Error(`${kernel.name}: input ${name} is ${info.dtype}, float32 expected`);
    return info;
  });

type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; backend: tf.KernelBackend; attrs?: KernelAttrs };

const wasmKernelFunc = (kernel: JsKernel) => (args: KernelArgs): tf.TensorInfo[] => {
  const { backend } = args;
  if (!isWasmHeapBackend(backend)) throw new Error(`${kernel.name}: the active backend does not expose the wasm heap`);
  const attrs = args.attrs ?? {};
  const ins = inputInfos(kernel, args.inputs);
  const shapes = ins.map((i) => i.shape);
  const outs = kernel.outputShapes(shapes, attrs).map((shape) => backend.makeOutput(shape, 'float32'));
  try {
    // views only after every allocation: a growing heap detaches earlier views
    const view = (info: tf.TensorInfo): Float32Array => backend.typedArrayFromHeap(info) as Float32Array;
    kernel.run(ins.map(view), outs.map(view), shapes, attrs);
  } catch (err) {
    for (const o of outs) backend.disposeData(o.dataId);
    throw err;
  }
  return outs;
};

const cpuKernelFunc = (kernel: JsKernel) => (args: KernelArgs): tf.TensorInfo[] => {
  const { backend } = args;
  const attrs = args.attrs ?? {};
  const ins = inputInfos(kernel, args.inputs);
  const shapes = ins.map((i) => i.shape);
  // the cpu backend hands out its own arrays (no copy) and keeps written arrays as they are
  const values = ins.map((i) => {
    const v = backend.readSync(i.dataId);
    return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
  });
  const outShapes = kernel.outputShapes(shapes, attrs);
  const outs = outShapes.map((shape) => new Float32Array(elements(shape)));
  kernel.run(values, outs, shapes, attrs);
  return outs.map((v, i) => {
    const shape = outShapes[i] as number[];
    return { dataId: backend.write(v, shape, 'float32'), shape, dtype: 'float32' };
  });
};

/** registers `kernel` on a backend unless a kernel of that name is there already; returns whether it registered */
export const registerJsKernel = (kernel: JsKernel, backendName: JsKernelBackend): boolean => {
  if (tf.getKernel(kernel.name, backendName) !== undefined) return false;
  const kernelFunc = (backendName === 'wasm' ? wasmKernelFunc(kernel) : cpuKernelFunc(kernel)) as unknown as tf.KernelConfig['kernelFunc'];
  tf.registerKernel({ kernelName: kernel.name, backendName, kernelFunc });
  return true;
};

export const unregisterJsKernel = (kernel: JsKernel, backendName: JsKernelBackend): void => {
  if (tf.getKernel(kernel.name, backendName) !== undefined) tf.unregisterKernel(kernel.name, backendName);
};

/** whether the active backend runs this kernel (otherwise the caller composes tfjs ops) */
export const jsKernelActive = (kernel: JsKernel): boolean => tf.getKernel(kernel.name, tf.getBackend()) !== undefined;

/** a non-negative integer attribute */
export const intAttr = (attrs: KernelAttrs, name: string, kernel: string): number => {
  const v = attrs[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${kernel}: attribute ${name} must be a non-negative integer, got ${String(v)}`);
  return v;
};

export const numberAttr = (attrs: KernelAttrs, name: string, kernel: string): number => {
  const v = attrs[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${kernel}: attribute ${name} must be a finite number, got ${String(v)}`);
  return v;
};

export const boolAttr = (attrs: KernelAttrs, name: string): boolean => attrs[name] === true;
