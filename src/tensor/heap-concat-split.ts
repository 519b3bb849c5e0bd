import * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';
import { isWasmHeapBackend, type NumericArray } from './wasm-heap.js';

// the UNet's skip concats (channel axis) and their gradients (SplitV) move rows of 16-64 floats. wasm's Concat
// makes a subarray per row (≈ 8,000 short-lived objects per call: GC), and its SplitV slices each output through
// readSync, a copy of the whole input per output, then copies it again row by row. Both are pure copies: here
// the rows are copied between heap views directly, the same elements to the same places.

const NUMERIC: ReadonlySet<string> = new Set(['float32', 'int32', 'bool']);

const elements = (shape: readonly number[]): number => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

// from this row length a memmove (copyWithin over the whole heap, ≈ 18 ns a call) beats an element loop
const MOVE_MIN = 24;

/**
 * copies `rows` rows of `len` elements: row r from src[srcAt + r·srcStride] to dst[dstAt + r·dstStride]. src and
 * dst are views of one heap, so a row is one copyWithin on a view of the whole heap (no subarray objects).
 */
export const copyRows = (src: NumericArray, srcAt: number, srcStride: number, dst: NumericArray, dstAt: number, dstStride: number, len: number, rows: number): void => {
  if (len >= MOVE_MIN && src.buffer === dst.buffer && src.constructor === dst.constructor) {
    const Ctor = src.constructor as Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
    const heap = new Ctor(src.buffer as ArrayBuffer);
    const s0 = src.byteOffset / src.BYTES_PER_ELEMENT + srcAt;
    const d0 = dst.byteOffset / dst.BYTES_PER_ELEMENT + dstAt;
    for (let r = 0; r < rows; r++) {
      const s = s0 + r * srcStride;
      heap.copyWithin(d0 + r * dstStride, s, s + len);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = srcAt + r * srcStride;
    const d = dstAt + r * dstStride;
    for (let i = 0; i < len; i++) dst[d + i] = src[s + i] as number;
  }
};

/** Concat as row copies on the wasm heap; strings, single inputs and other backends keep the original kernel */
export const heapConcat =
  (original: KernelCall): KernelCall =>
  (inputs, attrs, backend) => {
    const list = Object.values(inputs);
    const first = list[0];
    if (first === undefined || !isWasmHeapBackend(backend) || !NUMERIC.has(first.dtype) || list.some((t) => t.dtype !== first.dtype)) return original(inputs, attrs, backend);
    const axis = tf.util.parseAxisParam(attrs['axis'] as number | number[], first.shape)[0] as number;
    const shapes = list.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const parts = list.filter((t) => elements(t.shape) > 0);
    // wasm's kernel answers a single non-empty input with Identity, and an empty output with an empty tensor
    if (parts.length < 2) return original(inputs, attrs, backend);
    const out = backend.makeOutput(outShape, first.dtype);
    const rows = elements(outShape.slice(0, axis));
    const outRow = elements(outShape.slice(axis));
    // views only after the allocation: a growing heap detaches earlier views
    const dst = backend.typedArrayFromHeap(out);
    let at = 0;
    for (const part of parts) {
      const len = elements(part.shape.slice(axis));
      copyRows(backend.typedArrayFromHeap(part), 0, len, dst, at, outRow, len, rows);
      at += len;
    }
    return out;
  };

type MultiKernelCall = (inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>, backend: tf.KernelBackend) => tf.TensorInfo[];

/** SplitV as row copies on the wasm heap; strings and other backends keep the original kernel */
export const heapSplitV =
  (original: MultiKernelCall): MultiKernelCall =>
  (inputs, attrs, backend) => {
    const x = inputs['x'];
    if (x === undefined || !isWasmHeapBackend(backend) || !NUMERIC.has(x.dtype)) return original(inputs, attrs, backend);
    const axis = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape)[0] as number;
    const numOrSizeSplits = attrs['numOrSizeSplits'] as number | number[];
    // prepareSplitSize fills a -1 in place, as the original kernel lets it
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, axis);
    const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), x.dtype));
    const rows = elements(x.shape.slice(0, axis));
    const inRow = elements(x.shape.slice(axis));
    const src = backend.typedArrayFromHeap(x);
    let at = 0;
    for (const out of outs) {
      const len = elements(out.shape.slice(axis));
      if (len > 0 && rows > 0) copyRows(src, at, inRow, backend.typedArrayFromHeap(out), 0, len, len, rows);
      at += len;
    }
    return outs;
  };
