// tfjs-backend-wasm's BatchMatMul sends every batched or transposed product to a naive scalar loop (≈ 1 GFLOP/s;
// the attention's q·kᵀ and attn·v products at head dim 8). assembly/matmul.ts is that loop with the same float32
// bits, vectorised across neighbouring outputs, transposes read in place. Inputs are copied into the kernel
// module's memory and the result out (tfjs does not share its WebAssembly.Memory): a few KB per call.
import type * as tf from '@tensorflow/tfjs';
import { wasmModule } from './wasm-module.js';
import { isWasmHeapBackend, type WasmHeapBackend } from './wasm-heap.js';

interface MatMulKernels {
  batchMatMul(a: number, b: number, scratch: number, out: number, batchA: number, batchB: number, batch: number, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): void;
  transposeBatch(src: number, dst: number, batch: number, rows: number, cols: number): void;
}

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** a product's shape as tfjs-backend-wasm's BatchMatMul reads it (rank-3 views of a and b) */
export interface BatchedProduct {
  batchA: number;
  batchB: number;
  /** max(batchA, batchB): the number of products the kernel computes */
  batch: number;
  m: number;
  k: number;
  n: number;
}

export const batchedProduct = (a: readonly number[], b: readonly number[], transposeA: boolean, transposeB: boolean): BatchedProduct => {
  const batchA = size(a.slice(0, -2));
  const batchB = size(b.slice(0, -2));
  const [a0, a1] = a.slice(-2) as [number, number];
  const [b0, b1] = b.slice(-2) as [number, number];
  const k = transposeA ? a0 : a1;
  if ((transposeB ? b1 : b0) !== k) throw new Error(`matMul: inner dimensions of [${a.join(', ')}] and [${b.join(', ')}] differ (transposeA ${transposeA}, transposeB ${transposeB})`);
  return { batchA, batchB, batch: Math.max(batchA, batchB), m: transposeA ? a1 : a0, k, n: transposeB ? b0 : b1 };
};

/**
 * a·b (transposed as asked) for float32 a and b on the wasm heap, bit for bit what the backend's BatchMatMul
 * computes when it takes its naive batched loop (any batch or transpose; not one plain product, which goes to
 * xnnpack). `outShape` must hold batch·m·n elements.
 */
export const wasmBatchMatMul = (a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, outShape: number[], backend: WasmHeapBackend): tf.TensorInfo => {
  const p = batchedProduct(a.shape, b.shape, transposeA, transposeB);
  const outLength = p.batch * p.m * p.n;
  if (size(outShape) !== outLength) throw new Error(`wasmBatchMatMul: output shape [${outShape.join(', ')}] does not hold ${p.batch} products of ${p.m}x${p.n}`);
  const lengthA = p.batchA * p.m * p.k;
  const lengthB = p.batchB * p.k * p.n;
  const mod = wasmModule<MatMulKernels>('matmul');
  const [aAt, bAt, scratchAt, outAt] = mod.layout([lengthA, lengthB, transposeB ? lengthB : 0, outLength]) as [number, number, number, number];
  mod.f32(aAt, lengthA).set(backend.typedArrayFromHeap(a) as Float32Array);
  mod.f32(bAt, lengthB).set(backend.typedArrayFromHeap(b) as Float32Array);
  mod.exports.batchMatMul(aAt, bAt, scratchAt, outAt, p.batchA, p.batchB, p.batch, p.m, p.k, p.n, transposeA, transposeB);
  const out = backend.makeOutput(outShape, 'float32');
  // the heap view only after the allocation: a growing heap detaches earlier views
  (backend.typedArrayFromHeap(out) as Float32Array).set(mod.f32(outAt, outLength));
  return out;
};

/**
 * x with its last two axes swapped (float32 on the wasm heap): the backend's Transpose takes 30-250 µs for the
 * [256, 32] and [256, 256] operands the router hands to xnnpack transposed, a SIMD copy a few µs. A permutation:
 * the same values as the backend's kernel by construction.
 */
export const wasmTransposeLastTwo = (x: tf.TensorInfo, backend: WasmHeapBackend): tf.TensorInfo => {
  const rank = x.shape.length;
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const length = size(x.shape);
  const mod = wasmModule<MatMulKernels>('matmul');
  const [src, dst] = mod.layout([length, length]) as [number, number];
  mod.f32(src, length).set(backend.typedArrayFromHeap(x) as Float32Array);
  mod.exports.transposeBatch(src, dst, length / (rows * cols), rows, cols);
  const out = backend.makeOutput([...x.shape.slice(0, rank - 2), cols, rows], 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(mod.f32(dst, length));
  return out;
};
