import type { JsKernel } from './js-kernels.js';
import { GELU_C, GELU_K } from './fast-math.js';
import { runActivation } from './activation-wasm.js';

// SiLU and the GEGLU gate (value · gelu_tanh(gate)) as one-pass kernels with their gradients, their loops in
// WebAssembly (assembly/activation.ts: SIMD, the same double operations as the JS loops they replaced, so the same
// bits: test/tensor/activation-wasm.test.ts), in place on the wasm backend's tensors (activation-wasm.ts). the
// tanh GELU is written through the identity ½(1 + tanh u) = σ(2u): one exp per element (fast-math.ts's fastExp),
// in double, rounded once to float32 at the store.

export const SILU = 'VsdlabSilu';
export const SILU_GRAD = 'VsdlabSiluGrad';
export const GEGLU = 'VsdlabGeglu';
export const GEGLU_GRAD = 'VsdlabGegluGrad';

const shapeAt = (shapes: readonly number[][], i: number): number[] => {
  const s = shapes[i];
  if (s === undefined) throw new Error(`activation kernel: input ${i} missing`);
  return s;
};
const arrayAt = (arrays: readonly Float32Array[], i: number): Float32Array => {
  const a = arrays[i];
  if (a === undefined) throw new Error(`activation kernel: array ${i} missing`);
  return a;
};
const sameShape = (a: readonly number[], b: readonly number[], kernel: string): void => {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) throw new Error(`${kernel}: shapes [${a.join(', ')}] and [${b.join(', ')}] differ`);
};

/** y = x·σ(x) */
export const siluKernel: JsKernel = {
  name: SILU,
  inputs: ['x'],
  outputShapes: (shapes) => [[...shapeAt(shapes, 0)]],
  run: (ins, outs) => {
    const x = arrayAt(ins, 0);
    const y = arrayAt(outs, 0);
    runActivation([x], [y], (k, table, [px, py]) => k.silu(px as number, py as number, x.length, table));
  },
};

/** dx = dy·σ(x)·(1 + x·(1 − σ(x))) */
export const siluGradKernel: JsKernel = {
  name: SILU_GRAD,
  inputs: ['dy', 'x'],
  outputShapes: (shapes) => {
    sameShape(shapeAt(shapes, 0), shapeAt(shapes, 1), SILU_GRAD);
    return [[...shapeAt(shapes, 1)]];
  },
  run: (ins, outs) => {
    const dy = arrayAt(ins, 0);
    const x = arrayAt(ins, 1);
    const dx = arrayAt(outs, 0);
    runActivation([dy, x], [dx], (k, table, [pdy, px, pdx]) => k.siluGrad(pdy as number, px as number, pdx as number, x.length, table));
  },
};

const halfOf = (shape: readonly number[], kernel: string): number => {
  const last = shape[shape.length - 1];
  if (last === undefined || last % 2 !== 0) throw new Error(`${kernel}: last axis of [${shape.join(', ')}] must be even`);
  return last / 2;
};

/** x [..., 2D] = [value | gate] → y [..., D] = value · gelu_tanh(gate) */
export const gegluKernel: JsKernel = {
  name: GEGLU,
  inputs: ['x'],
  outputShapes: (shapes) => {
    const x = shapeAt(shapes, 0);
    return [[...x.slice(0, -1), halfOf(x, GEGLU)]];
  },
  run: (ins, outs, shapes) => {
    const D = halfOf(shapeAt(shapes, 0), GEGLU);
    const x = arrayAt(ins, 0);
    const y = arrayAt(outs, 0);
    const rows = D === 0 ? 0 : y.length / D;
    runActivation([x], [y], (k, table, [px, py]) => k.geglu(px as number, py as number, rows, D, GELU_K, GELU_C, table));
  },
};

/** dy [..., D], x [..., 2D] → dx [..., 2D]: [dy·gelu(gate) | dy·value·gelu'(gate)] */
export const gegluGradKernel: JsKernel = {
  name: GEGLU_GRAD,
  inputs: ['dy', 'x'],
  outputShapes: (shapes) => {
    const x = shapeAt(shapes, 1);
    sameShape(shapeAt(shapes, 0), [...x.slice(0, -1), halfOf(x, GEGLU_GRAD)], GEGLU_GRAD);
    return [[...x]];
  },
  run: (ins, outs, shapes) => {
    const D = halfOf(shapeAt(shapes, 1), GEGLU_GRAD);
    const dy = arrayAt(ins, 0);
    const x = arrayAt(ins, 1);
    const dx = arrayAt(outs, 0);
    const rows = D === 0 ? 0 : dy.length / D;
    // gelu(g) = g·s with s = σ(2u), u = k(g + c g³): gelu'(g) = s + g·s(1 − s)·2k(1 + 3c g²)
    runActivation([dy, x], [dx], (k, table, [pdy, px, pdx]) => k.gegluGrad(pdy as number, px as number, pdx as number, rows, D, GELU_K, GELU_C, table));
  },
};
