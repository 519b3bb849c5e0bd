import * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';
import { isWasmHeapBackend } from './wasm-heap.js';
import { ownMemoryModule, wasmHeapActive, wasmHeapModule } from './wasm-heap-module.js';

// the bias gradients sum over leading axes (Sum over axis 0 of [N, C], over [0, 1, 2] of NHWC; GroupNorm's over
// [1, 2]). wasm's Sum reduces only innermost axes: it first transposes x to [outer, C, reduced] (a generic
// element-by-element copy), then sums each row sequentially in float32 from 0 (tfjs-backend-wasm cc/kernels/Sum.cc:
// `T sum = 0; for (x ...) sum += *x;`). Column c of the untransposed x holds the same elements in the same order,
// so adding row after row into a float32 accumulator per column, starting from 0, performs the very same float32
// additions: the same bits, without the transpose. assembly/column-sum.ts does it four columns to a v128;
// columnSumsInto is the same loop in JS (the reference the tests hold the kernel to: a JS number add rounded to
// float32 on store equals the float32 add, double having more than 2·24 + 2 bits). The module imports its memory
// (scripts/build-wasm.js's IMPORTED_MEMORY): on tfjs's heap it reads x and writes the output in place, no copies;
// columnSumsCopied runs it on a memory of its own (the path it replaced, kept for the tests' bit comparisons).

interface ColumnSumKernels {
  columnSums(x: number, out: number, outer: number, rows: number, cols: number): void;
}

/**
 * out[a, c] = Σ_r x[a, r, c] for x row-major [outer, rows, cols], each sum taken sequentially over r from +0 in
 * float32 (out is the accumulator: every store rounds to float32)
 */
export const columnSumsInto = (x: Float32Array, outer: number, rows: number, cols: number, out: Float32Array): void => {
  for (let a = 0; a < outer; a++) {
    const o = a * cols;
    out.fill(0, o, o + cols);
    let at = a * rows * cols;
    for (let r = 0; r < rows; r++, at += cols) {
      for (let c = 0; c < cols; c++) out[o + c] = (out[o + c] as number) + (x[at + c] as number);
    }
  }
};

/**
 * the reduced axes as [outer, rows, cols] when they are one run of increasing axes that is not innermost (the case
 * where wasm's Sum transposes), else undefined
 */
export const columnSumGeometry = (shape: readonly number[], axis: number | number[]): { outer: number; rows: number; cols: number; axes: number[] } | undefined => {
  const axes = tf.util.parseAxisParam(axis, [...shape]);
  if (axes.length === 0) return undefined;
  const first = axes[0] as number;
  const last = axes[axes.length - 1] as number;
  if (last === shape.length - 1) return undefined;
  if (!axes.every((a, i) => a === first + i)) return undefined;
  const size = (from: number, to: number): number => shape.slice(from, to).reduce((p, d) => p * d, 1);
  return { outer: size(0, first), rows: size(first, last + 1), cols: size(last + 1, shape.length), axes };
};

/** columnSumsInto by the module on a memory of its own: x copied in, the sums copied out into `out` */
export const columnSumsCopied = (x: Float32Array, outer: number, rows: number, cols: number, out: Float32Array): void => {
  const mod = ownMemoryModule<ColumnSumKernels>('column-sum');
  const [xAt, outAt] = mod.layout([x.length, outer * cols]) as [number, number];
  new Float32Array(mod.memory.buffer, xAt, x.length).set(x);
  mod.exports.columnSums(xAt, outAt, outer, rows, cols);
  out.set(new Float32Array(mod.memory.buffer, outAt, outer * cols));
};

/** Sum over a non-innermost run of axes of float32 x as column sums on the wasm heap; every other case keeps the original kernel */
export const heapColumnSum =
  (original: KernelCall): KernelCall =>
  (inputs, attrs, backend) => {
    const x = inputs['x'];
    if (x === undefined || x.dtype !== 'float32' || !isWasmHeapBackend(backend) || x.shape.some((d) => d === 0)) return original(inputs, attrs, backend);
    const g = columnSumGeometry(x.shape, attrs['axis'] as number | number[]);
    if (g === undefined) return original(inputs, attrs, backend);
    const kept = x.shape.filter((_, a) => !g.axes.includes(a));
    const out = backend.makeOutput(kept, 'float32');
    // views only after the allocation: a growing heap detaches earlier views
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const os = backend.typedArrayFromHeap(out) as Float32Array;
    if (wasmHeapActive()) {
      const mod = wasmHeapModule<ColumnSumKernels>('column-sum');
      mod.exports.columnSums(mod.address(xs), mod.address(os), g.outer, g.rows, g.cols);
    } else columnSumsCopied(xs, g.outer, g.rows, g.cols, os);
    if (attrs['keepDims'] === true) out.shape = tf.backend_util.expandShapeToKeepDim(kept, g.axes);
    return out;
  };
