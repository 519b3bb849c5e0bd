import type * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';
import { isWasmHeapBackend } from './wasm-heap.js';
import { wasmModule } from './wasm-module.js';

// wasm's Transpose copies element by element. Where the innermost axis stays innermost (the attention's head
// split/merge [0, 2, 1, 3], the filter gradient's [1, 2, 0, 3]) that is about as fast as a row copy here, measured
// in the step, so those keep wasm's kernel. Where it moves (the filter gradient's [3, 1, 2, 0] of NHWC
// activations, 2-D transposes) assembly/transpose.ts moves 4x4 blocks of 32-bit elements by shuffles, bits
// untouched, in the module's memory (one memcpy in, one out): 15-30 % less per call in the step. A transpose is a
// pure copy, so any copy order gives the same bits.

interface TransposeKernels {
  transposeBlocks(src: number, dst: number, meta: number, outer: number, nq: number, dq: number, n0: number, s0: number, index: number): void;
  transposeBlocksOuterInner(src: number, dst: number, meta: number, outer: number, nq: number, dq: number, n0: number, s0: number, index: number): void;
}

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
 * how the kernel copies one transpose: the outer output axes as (length, source step, destination step), then
 * [nq, n0] blocks (output axis q, the source's innermost, steps dq in the output; the innermost output axis steps
 * s0 in the source). undefined: a no-op, or the innermost axis stays innermost (wasm's kernel).
 */
export interface TransposePlan {
  meta: Int32Array;
  nq: number;
  dq: number;
  n0: number;
  s0: number;
  outerInner: boolean;
}

export const transposePlan = (shape: readonly number[], perm: readonly number[]): TransposePlan | undefined => {
  const c = collapsePermutation(shape, perm);
  const rank = c.shape.length;
  if (c.perm.every((a, i) => a === i)) return undefined;
  const inStep = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    inStep[a] = s;
    s *= c.shape[a] as number;
  }
  // output axis i runs over input axis perm[i]: its length, its step in the source and in the output
  const dims = c.perm.map((a) => c.shape[a] as number);
  const src = c.perm.map((a) => inStep[a] as number);
  const dst = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    dst[i] = s;
    s *= dims[i] as number;
  }
  const triples = (axes: number[]): Int32Array => Int32Array.from(axes.flatMap((i) => [dims[i] as number, src[i] as number, dst[i] as number]));
  const last = rank - 1;
  const q = src.indexOf(1);
  const outer = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== q && i !== last);
  if (q === last) return undefined;
  // the filter gradient's [3, 1, 2, 0]: block rows far apart, the outer axis a short step; walking the outer axes
  // inside each block position keeps the 8 rows streaming (≈ 4x faster there, slower for a plain matrix)
  const inner = outer[outer.length - 1];
  const outerInner = inner !== undefined && (src[inner] as number) < (src[last] as number) && (dst[inner] as number) < (dst[q] as number);
  return { meta: triples(outer), nq: dims[q] as number, dq: dst[q] as number, n0: dims[last] as number, s0: src[last] as number, outerInner };
};

const plans = new Map<string, TransposePlan | undefined>();
const planOf = (shape: readonly number[], perm: readonly number[]): TransposePlan | undefined => {
  const key = `${shape.join(',')}|${perm.join(',')}`;
  if (!plans.has(key)) plans.set(key, transposePlan(shape, perm));
  return plans.get(key);
};

// below this many elements the block kernel's copies in and out cost what it saves (measured in the step)
const MIN_ELEMENTS = 32768;

const bits = (a: Float32Array | Int32Array | Uint8Array): Int32Array => new Int32Array(a.buffer, a.byteOffset, a.length);

/** runs the block kernel: x (32-bit elements) into the module, transposed there; returns the module's view of the result */
const transposeInModule = (x: Int32Array, plan: TransposePlan): Int32Array => {
  const n = x.length;
  const mod = wasmModule<TransposeKernels>('transpose');
  const outer = plan.meta.length / 3;
  const [srcAt, dstAt, metaAt, indexAt] = mod.layout([n, n, plan.meta.length, outer]) as [number, number, number, number];
  const memory = mod.f32(0, 0).buffer;
  new Int32Array(memory, srcAt, n).set(x);
  new Int32Array(memory, metaAt, plan.meta.length).set(plan.meta);
  (plan.outerInner ? mod.exports.transposeBlocksOuterInner : mod.exports.transposeBlocks)(srcAt, dstAt, metaAt, outer, plan.nq, plan.dq, plan.n0, plan.s0, indexAt);
  return new Int32Array(memory, dstAt, n);
};

/**
 * x (row-major `shape`, 32-bit elements: float32 bits or int32) transposed by `perm` with the block kernel, or
 * undefined where it does not apply (the innermost axis stays innermost, a no-op, an empty x). For tests of the
 * kernel on shapes of any size.
 */
export const transposeBits = (x: Int32Array, shape: readonly number[], perm: readonly number[]): Int32Array | undefined => {
  const plan = shape.some((d) => d === 0) ? undefined : planOf(shape, perm);
  return plan === undefined ? undefined : transposeInModule(x, plan).slice();
};

/** Transpose of float32 / int32 on the wasm heap by the block kernels when the innermost axis moves; everything else keeps the original kernel */
export const heapTranspose =
  (original: KernelCall): KernelCall =>
  (inputs, attrs, backend) => {
    const x = inputs['x'];
    const perm = attrs['perm'] as number[] | undefined;
    if (x === undefined || perm === undefined || perm.length !== x.shape.length || !isWasmHeapBackend(backend) || (x.dtype !== 'float32' && x.dtype !== 'int32')) {
      return original(inputs, attrs, backend);
    }
    const plan = x.shape.reduce((a, b) => a * b, 1) < MIN_ELEMENTS ? undefined : planOf(x.shape, perm);
    if (plan === undefined) return original(inputs, attrs, backend);
    const result = transposeInModule(bits(backend.typedArrayFromHeap(x)), plan);
    // the heap view only after the allocation: a growing heap detaches earlier views
    const out = backend.makeOutput(perm.map((a) => x.shape[a] as number), x.dtype);
    bits(backend.typedArrayFromHeap(out)).set(result);
    return out;
  };
