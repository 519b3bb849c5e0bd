import type * as tf from '@tensorflow/tfjs';
import type { KernelCall } from './kernel-calls.js';
import { isWasmHeapBackend, type NumericArray } from './wasm-heap.js';

// wasm's Tile computes a source index per element (≈ 100 ns each: 2.7 ms to broadcast one [1, 24, 64] text
// embedding to a batch of 32 for classifier-free guidance). tiled output is the input's blocks repeated: copy
// each innermost row once, then double the filled part of every axis with copyWithin.

/** writes x (shape `shape`) tiled `reps` times per axis into out, which has shape shape[i]·reps[i] */
export const tileInto = (x: NumericArray, shape: readonly number[], reps: readonly number[], out: NumericArray): void => {
  const rank = shape.length;
  if (rank === 0) {
    if (x.length > 0) out[0] = x[0]!;
    return;
  }
  // elements in one block below `axis`, before and after tiling
  const blockIn = new Array<number>(rank + 1).fill(1);
  const blockOut = new Array<number>(rank + 1).fill(1);
  for (let a = rank - 1; a >= 0; a--) {
    blockIn[a] = blockIn[a + 1]! * shape[a]!;
    blockOut[a] = blockOut[a + 1]! * shape[a]! * reps[a]!;
  }
  const fill = (axis: number, from: number, to: number): void => {
    const n = shape[axis]!;
    const span = n * blockOut[axis + 1]!;
    if (axis === rank - 1) {
      for (let i = 0; i < n; i++) out[to + i] = x[from + i]!;
    } else {
      for (let i = 0; i < n; i++) fill(axis + 1, from + i * blockIn[axis + 1]!, to + i * blockOut[axis + 1]!);
    }
    // the axis's repetitions: double what is filled until the span is complete
    const total = span * reps[axis]!;
    for (let filled = span; filled < total; filled *= 2) out.copyWithin(to + filled, to, to + Math.min(filled, total - filled));
  };
  if (elements(shape) > 0 && reps.every((r) => r > 0)) fill(0, 0, 0);
};

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Tile by block copies on the wasm heap; strings and other backends keep the original kernel */
export const heapTile = (original: KernelCall): KernelCall => (inputs, attrs, backend) => {
  const x = inputs['x'];
  const reps = attrs['reps'];
  if (x === undefined || !Array.isArray(reps) || reps.length !== x.shape.length || !isWasmHeapBackend(backend) || !['float32', 'int32', 'bool'].includes(x.dtype)) {
    return original(inputs, attrs, backend);
  }
  const r = reps as number[];
  const out = backend.makeOutput(x.shape.map((d, i) => d * (r[i] as number)), x.dtype);
  // views only after the allocation: a growing heap detaches earlier views
  tileInto(backend.typedArrayFromHeap(x), x.shape, r, backend.typedArrayFromHeap(out));
  return out;
};
