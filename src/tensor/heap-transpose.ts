import type * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';
import { copyRows } from './heap-concat-split.js';
import { isWasmHeapBackend, type NumericArray } from './wasm-heap.js';

// wasm's Transpose (≈ 230 a step: the attention's head split/merge [0, 2, 1, 3], the filter gradient's
// [3, 1, 2, 0] and [1, 2, 0, 3]) walks every element through a generic index computation (≈ 5 ns each) behind
// a cwrap call that copies the shape and perm. A transpose is a pure copy: here the same elements are copied to
// the same places by strided loops on the heap, with the axes that move together merged first.

/** `shape` and `perm` with size-1 axes dropped and axes that stay neighbours merged (the same copy, fewer loops) */
export const collapsePermutation = (shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } => {
  // input axes that remain, renumbered
  const keep: number[] = [];
  const renumber = new Map<number, number>();
  shape.forEach((d, a) => {
    if (d !== 1) {
      renumber.set(a, keep.length);
      keep.push(d);
    }
  });
  const p = perm.filter((a) => shape[a] !== 1).map((a) => renumber.get(a) as number);
  // runs of output axes that read consecutive input axes become one axis
  const groups: { first: number; size: number }[] = [];
  let prev = -2;
  for (const a of p) {
    const last = groups[groups.length - 1];
    if (last !== undefined && a === prev + 1) last.size *= keep[a] as number;
    else groups.push({ first: a, size: keep[a] as number });
    prev = a;
  }
  const byInput = [...groups].sort((x, y) => x.first - y.first);
  return { shape: byInput.map((g) => g.size), perm: groups.map((g) => byInput.indexOf(g)) };
};

/**
 * writes x (row-major, `shape`) transposed by `perm` into out: out[i0..] = x at input index i[perm⁻¹]. Views of
 * one kind (Int32Array for float32 and int32: bits are copied, never converted; Uint8Array for bool).
 */
export const transposeInto = (x: Int32Array | Uint8Array, shape: readonly number[], perm: readonly number[], out: Int32Array | Uint8Array): void => {
  const c = collapsePermutation(shape, perm);
  const rank = c.shape.length;
  const total = c.shape.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  if (rank <= 1) {
    out.set(x.subarray(0, total));
    return;
  }
  const inStride = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    inStride[a] = s;
    s *= c.shape[a] as number;
  }
  // output axis i runs over input axis perm[i]: its length and its step in x
  const dims = c.perm.map((a) => c.shape[a] as number);
  const steps = c.perm.map((a) => inStride[a] as number);
  const n0 = dims[rank - 1] as number;
  const s0 = steps[rank - 1] as number;
  const n1 = dims[rank - 2] as number;
  const s1 = steps[rank - 2] as number;
  const outer = total / (n0 * n1);
  const index = new Array<number>(rank - 2).fill(0);
  let base = 0;
  let o = 0;
  for (let b = 0; b < outer; b++) {
    if (s0 === 1) {
      // the innermost axis stays innermost: n1 rows of n0 contiguous elements
      copyRows(x as NumericArray, base, s1, out as NumericArray, o, n0, n0, n1);
      o += n0 * n1;
    } else {
      for (let j = 0; j < n1; j++) {
        const at = base + j * s1;
        for (let i = 0; i < n0; i++) out[o++] = x[at + i * s0] as number;
      }
    }
    // next outer output index (odometer over output axes rank-3 .. 0)
    for (let a = rank - 3; a >= 0; a--) {
      index[a] = (index[a] as number) + 1;
      base += steps[a] as number;
      if ((index[a] as number) < (dims[a] as number)) break;
      base -= (index[a] as number) * (steps[a] as number);
      index[a] = 0;
    }
  }
};

const isNoOp = (shape: readonly number[], perm: readonly number[]): boolean => collapsePermutation(shape, perm).perm.every((a, i) => a === i);

/** the same bits as a view of 4-byte or 1-byte elements, so that a copy never converts a value */
const bitsView = (a: NumericArray): Int32Array | Uint8Array => (a instanceof Uint8Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length));

/** Transpose by strided copies on the wasm heap; strings, no-op permutations and other backends keep the original kernel */
export const heapTranspose =
  (original: KernelCall): KernelCall =>
  (inputs, attrs, backend) => {
    const x = inputs['x'];
    const perm = attrs['perm'] as number[] | undefined;
    if (x === undefined || perm === undefined || perm.length !== x.shape.length || !isWasmHeapBackend(backend) || !['float32', 'int32', 'bool'].includes(x.dtype) || isNoOp(x.shape, perm)) {
      return original(inputs, attrs, backend);
    }
    const out = backend.makeOutput(perm.map((a) => x.shape[a] as number), x.dtype as tf.DataType);
    // views only after the allocation: a growing heap detaches earlier views
    transposeInto(bitsView(backend.typedArrayFromHeap(x)), x.shape, perm, bitsView(backend.typedArrayFromHeap(out)));
    return out;
  };
