import * as tf from '@tensorflow/tfjs';
import { type KernelCall, Scratch, requireKernel } from './kernel-calls.js';
import { wasmBatchMatMul, wasmTransposeLastTwo } from './wasm-batch-matmul.js';
import { type WasmHeapBackend, isWasmHeapBackend } from './wasm-heap.js';

// wasm's matMul is fast (xnnpack) only for one un-transposed product: transposed operands run ~10x slower
// (measured 0.4 / 2.3 vs 30 GFLOP/s) and a batch of products (attention) falls to a naive loop (1-2 GFLOP/s).
// materialising the transpose costs one memory pass; a batch becomes one fast product per batch entry.
// batches of tiny products (the attention's) stay on the naive loop's summation order, run as a SIMD kernel.

const swapLastTwo = (rank: number): number[] => {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
};

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

// below this many flops per product a kernel call costs more than the naive batched loop saves (~6 µs vs 2 GFLOP/s)
const MIN_FLOPS_PER_PRODUCT = 16384;

/**
 * the matrices of a [batch, rows, cols] tensor as separate tensors. one read and one write per matrix
 * (typed-array copies): wasm's Slice kernel copies element by element (4 ms for a 256x256 matrix).
 */
const splitBatch = (x: tf.TensorInfo, batch: number, backend: tf.KernelBackend, scratch: Scratch): tf.TensorInfo[] => {
  const [, rows, cols] = x.shape as [number, number, number];
  const all = backend.readSync(x.dataId) as Float32Array;
  const per = rows * cols;
  return Array.from({ length: batch }, (_, i) => {
    const shape = [1, rows, cols];
    return scratch.keep({ dataId: backend.write(all.subarray(i * per, (i + 1) * per), shape, 'float32'), shape, dtype: 'float32' });
  });
};

/**
 * on wasm, what runs the naive loop's products and the materialised transposes: the SIMD kernels of
 * assembly/matmul.ts (default) or the backend's own BatchMatMul and Transpose (benchmarks, tests). same bits.
 */
export type MatMulKernels = 'simd' | 'backend';
let matMulKernels: MatMulKernels = 'simd';
export const setMatMulKernels = (kernels: MatMulKernels): void => {
  matMulKernels = kernels;
};

const simdOn = (backendName: string, backend: tf.KernelBackend, ...xs: tf.TensorInfo[]): backend is tf.KernelBackend & WasmHeapBackend =>
  matMulKernels === 'simd' && backendName === 'wasm' && isWasmHeapBackend(backend) && xs.every((x) => x.dtype === 'float32' && size(x.shape) > 0);

/** x with its last two axes swapped */
const transposeLastTwo = (x: tf.TensorInfo, backendName: string, backend: tf.KernelBackend): tf.TensorInfo =>
  simdOn(backendName, backend, x) ? wasmTransposeLastTwo(x, backend) : requireKernel(tf.Transpose, backendName)({ x }, { perm: swapLastTwo(x.shape.length) }, backend);

/**
 * whether a batched product (batch > 1) keeps the original batched kernel, tfjs-backend-wasm's naive loop: tiny
 * products, and broadcasting beyond "one side has a single matrix". the others become one xnnpack product per
 * batch entry. this choice fixes the summation order, hence every bit: it must not move.
 */
const naiveLoopProduct = (batchA: number, batchB: number, m: number, k: number, n: number, outShape: number[]): boolean => {
  const batch = Math.max(batchA, batchB);
  const general = (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1) || size(outShape.slice(0, -2)) !== batch;
  return general || 2 * m * k * n < MIN_FLOPS_PER_PRODUCT;
};

/** wraps a BatchMatMul kernel: explicit transposes, and batches split into single products */
export const routeMatMul = (original: KernelCall, backendName: string): KernelCall => (inputs, attrs, backend) => {
  const a = inputs['a'];
  const b = inputs['b'];
  if (a === undefined || b === undefined) throw new Error('matMul kernel called without inputs a and b');
  const transposeA = attrs['transposeA'] === true;
  const transposeB = attrs['transposeB'] === true;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return original(inputs, attrs, backend);
  const batch = Math.max(batchA, batchB);
  if (batch > 1 && simdOn(backendName, backend, a, b)) {
    const k = a.shape[a.shape.length - (transposeA ? 2 : 1)] as number;
    const m = a.shape[a.shape.length - (transposeA ? 1 : 2)] as number;
    const n = b.shape[b.shape.length - (transposeB ? 2 : 1)] as number;
    const kB = b.shape[b.shape.length - (transposeB ? 1 : 2)] as number;
    const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
    // the products the backend's naive loop would compute (see below), with its bits, transposes read in place
    if (k === kB && size(outShape) === batch * m * n && naiveLoopProduct(batchA, batchB, m, k, n, outShape)) {
      return wasmBatchMatMul(a, b, transposeA, transposeB, outShape, backend);
    }
  }
  const scratch = new Scratch(backend);
  const call = (name: string, ins: Record<string, tf.TensorInfo> | tf.TensorInfo[], at: Record<string, unknown>): tf.TensorInfo =>
    requireKernel(name, backendName)(ins as Record<string, tf.TensorInfo>, at, backend);
  try {
    const plainA = transposeA ? scratch.keep(transposeLastTwo(a, backendName, backend)) : a;
    const plainB = transposeB ? scratch.keep(transposeLastTwo(b, backendName, backend)) : b;
    const [m, k] = plainA.shape.slice(-2) as [number, number];
    const n = plainB.shape[plainB.shape.length - 1] as number;
    const plain = { transposeA: false, transposeB: false };
    if (batch === 1) return original({ a: plainA, b: plainB }, { ...attrs, ...plain }, backend);
    const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
    if (naiveLoopProduct(batchA, batchB, m, k, n, outShape)) return original({ a: plainA, b: plainB }, { ...attrs, ...plain }, backend);
    const a3 = scratch.keep(call(tf.Reshape, { x: plainA }, { shape: [batchA, m, k] }));
    const b3 = scratch.keep(call(tf.Reshape, { x: plainB }, { shape: [batchB, k, n] }));
    const as = batchA === 1 ? undefined : splitBatch(a3, batch, backend, scratch);
    const bs = batchB === 1 ? undefined : splitBatch(b3, batch, backend, scratch);
    const products: tf.TensorInfo[] = [];
    for (let i = 0; i < batch; i++) {
      products.push(scratch.keep(original({ a: as?.[i] ?? a3, b: bs?.[i] ?? b3 }, { ...attrs, ...plain }, backend)));
    }
    const joined = scratch.keep(call(tf.Concat, products, { axis: 0 }));
    return call(tf.Reshape, { x: joined }, { shape: outShape });
  } finally {
    scratch.release();
  }
};

/** wraps a _FusedMatMul kernel (bias/activation): only the transposes are materialised */
export const routeTransposedMatMul = (original: KernelCall, backendName: string): KernelCall => (inputs, attrs, backend) => {
  const transposeA = attrs['transposeA'] === true;
  const transposeB = attrs['transposeB'] === true;
  if (!transposeA && !transposeB) return original(inputs, attrs, backend);
  const a = inputs['a'];
  const b = inputs['b'];
  if (a === undefined || b === undefined) throw new Error('matMul kernel called without inputs a and b');
  const scratch = new Scratch(backend);
  try {
    const routedInputs = {
      ...inputs,
      a: transposeA ? scratch.keep(transposeLastTwo(a, backendName, backend)) : a,
      b: transposeB ? scratch.keep(transposeLastTwo(b, backendName, backend)) : b,
    };
    return original(routedInputs, { ...attrs, transposeA: false, transposeB: false }, backend);
  } finally {
    scratch.release();
  }
};
