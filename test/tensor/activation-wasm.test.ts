import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import type { JsKernel } from '../../src/tensor/js-kernels.js';
import * as wasm from '../../src/tensor/activation-kernels.js';
import { heapInstance } from '../../src/tensor/activation-wasm.js';
import type { WasmHeapBackend } from '../../src/tensor/wasm-heap.js';
import * as js from './activation-wasm-js-reference.js';
import { randomArray } from '../helpers/random-arrays.js';

// the WebAssembly activation kernels (assembly/activation.ts behind src/tensor/activation-kernels.ts) against the
// JS kernels they replaced (activation-wasm-js-reference.ts), bit for bit: every output float's 32 bits, except that
// a NaN need only meet a NaN: which NaN an operation returns (its sign) is left open by IEEE 754 and by wasm, and
// follows the operand order the compiler picks (V8 commutes x·y freely), so neither side's NaN bits are a property
// of the kernel. run on plain arrays (the bodies both backends share: copies into the module's own memory) and
// through tfjs on the cpu backend (copies) and the wasm backend (in place on the tfjs heap).

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** NaNs met (NaN for NaN), so that the tests can check that their NaN cases ran */
let nansMet = 0;

const assertSameBits = (got: Float32Array | undefined, want: Float32Array | undefined, label: string): void => {
  assert.ok(got !== undefined && want !== undefined, `${label}: missing output`);
  assert.equal(got.length, want.length, `${label}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] === w[i]) continue;
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) {
      nansMet++;
      continue;
    }
    assert.fail(`${label}[${i}]: ${got[i]} (0x${g[i]!.toString(16)}) vs ${want[i]} (0x${w[i]!.toString(16)})`);
  }
  for (const v of want) if (Number.isNaN(v)) nansMet++;
};

/** both kernels' bodies on the same arrays (outputs prefilled with NaN, so an unwritten element shows): compared */
const checkBoth = (wasmKernel: JsKernel, jsKernel: JsKernel, ins: Float32Array[], shapes: number[][], label: string): void => {
  const outShapes = jsKernel.outputShapes(shapes, {});
  assert.deepEqual(wasmKernel.outputShapes(shapes, {}), outShapes);
  const make = (): Float32Array[] => outShapes.map((s) => new Float32Array(size(s)).fill(Number.NaN));
  const got = make();
  const want = make();
  wasmKernel.run(ins, got, shapes, {});
  jsKernel.run(ins, want, shapes, {});
  want.forEach((w, i) => assertSameBits(got[i], w, `${label} output ${i}`));
};

/** SiLU and its gradient on x of this shape */
const checkSilu = (shape: number[], x: Float32Array, dy: Float32Array, label: string): void => {
  checkBoth(wasm.siluKernel, js.siluKernel, [x], [shape], `silu ${label} [${shape}]`);
  checkBoth(wasm.siluGradKernel, js.siluGradKernel, [dy, x], [shape, shape], `siluGrad ${label} [${shape}]`);
};

/** GEGLU and its gradient on x [..., 2D] */
const checkGeglu = (shape: number[], x: Float32Array, dy: Float32Array, label: string): void => {
  const half = [...shape.slice(0, -1), shape[shape.length - 1]! / 2];
  checkBoth(wasm.gegluKernel, js.gegluKernel, [x], [shape], `geglu ${label} [${shape}]`);
  checkBoth(wasm.gegluGradKernel, js.gegluGradKernel, [dy, x], [half, shape], `gegluGrad ${label} [${shape}]`);
};

// the VSD step's shapes (bench: embedded width, patch 2): SiLU [1, 64] and [16, 64] (time embedding), GEGLU
// [1, 1, 256] and [16, 16, 256] (the attention's feed-forward, D = 128); then lengths (GEGLU: widths D per row)
// that take every path: blocks of 8, a block of 4, a tail of 1 to 3 (odd lengths, lengths ≢ 0 mod 4)
const SILU_SHAPES = [[1, 64], [16, 64], [16, 16, 128], [0, 4], [1], [2], [3], [4], [5], [6], [7], [9], [12], [13], [3, 7, 11], [1025], [1031]];
const GEGLU_SHAPES = [[1, 1, 256], [16, 16, 256], [16, 16, 8], [0, 6], [2], [4], [6], [10], [14], [3, 2], [5, 6], [3, 5, 10], [7, 14], [2, 3, 18], [3, 24], [3, 26], [4, 260], [1, 3, 262]];

test('wasm SiLU, GEGLU and their gradients equal the JS kernels bit for bit on model and odd shapes', () => {
  for (const [k, shape] of SILU_SHAPES.entries()) {
    const n = size(shape);
    for (const scale of [12, 1600]) checkSilu(shape, randomArray(n, 10 * k + 1, scale, 0.3), randomArray(n, 10 * k + 2, 4), `scale ${scale}`);
  }
  for (const [k, shape] of GEGLU_SHAPES.entries()) {
    const n = size(shape);
    const dy = randomArray(n / 2, 10 * k + 2, 4);
    // gates over ±6 (the model's range), and far out where the exp clamps (u beyond ±700 from |g| ≈ 27)
    for (const scale of [12, 200]) checkGeglu(shape, randomArray(n, 10 * k + 1, scale, 0.3), dy, `scale ${scale}`);
  }
});

// float32 extremes: ±0, subnormals (the smallest), the smallest normal, values around the exp's clamp at ±700 and
// where e^x leaves float32 (±88.7, ±103.9) or double (±745), float32's largest, ±∞, NaN
const EXTREMES = [
  0, -0, 1e-45, -1e-45, 1e-40, -1e-40, 1.1754944e-38, -1.1754944e-38, 1e-30, -1e-30, 0.5, -0.5, 1, -1, 3, -3, 20, -20, 88.7, -88.7,
  103.9, -103.9, 700, -700, 700.0001, -700.0001, 745.2, -745.2, 1e4, -1e4, 1e13, -1e13, 3.4028235e38, -3.4028235e38,
  Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN,
];

/** GEGLU's x [e, 2e] holding every (value, gate) pair of the extremes, and a dy cycling through them */
const gegluExtremes = (): { x: Float32Array; dy: Float32Array } => {
  const e = EXTREMES.length;
  const x = new Float32Array(2 * e * e);
  const dy = new Float32Array(e * e);
  for (let r = 0; r < e; r++) {
    for (let d = 0; d < e; d++) {
      x[2 * e * r + d] = EXTREMES[d]!;
      x[2 * e * r + e + d] = EXTREMES[(d + r) % e]!;
      dy[e * r + d] = EXTREMES[(7 * d + r) % e]!;
    }
  }
  return { x, dy };
};

test('wasm activation kernels: ±0, subnormals, ±large, ±∞ and NaN give the JS kernels bits (every pair of them)', () => {
  const e = EXTREMES.length;
  // every (x, dy) pair for SiLU; every (value, gate) pair for GEGLU with dy cycling through them as well
  const x = Float32Array.from({ length: e * e }, (_, i) => EXTREMES[i % e]!);
  const dy = Float32Array.from({ length: e * e }, (_, i) => EXTREMES[Math.floor(i / e)]!);
  const before = nansMet;
  checkSilu([e * e], x, dy, 'extremes');
  const { x: gx, dy: gdy } = gegluExtremes();
  checkGeglu([e, 2 * e], gx, gdy, 'extremes');
  assert.ok(nansMet > before, 'the NaN cases produced NaNs');
});

/** a registered kernel through tfjs on the active backend: its only output */
const viaTf = async (name: string, ins: Record<string, Float32Array>, shapes: Record<string, number[]>): Promise<Float32Array> => {
  const tensors = Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
  const outs = tf.engine().runKernel(name, tensors, {}) as tf.Tensor | tf.Tensor[];
  const [out] = Array.isArray(outs) ? outs : [outs];
  assert.ok(out !== undefined, `${name}: no output`);
  const values = (await out.data()) as Float32Array;
  tf.dispose([out, ...Object.values(tensors)]);
  return values;
};

/** the frozen JS kernel's only output */
const ref = (kernel: JsKernel, ins: Float32Array[], shapes: number[][]): Float32Array => {
  const [shape] = kernel.outputShapes(shapes, {});
  const out = [new Float32Array(size(shape!))];
  kernel.run(ins, out, shapes, {});
  return out[0]!;
};

/** the four kernels through tfjs on the active backend against the JS kernels, on x (and dy) of this shape */
const checkViaTf = async (kind: 'silu' | 'geglu', shape: number[], x: Float32Array, dy: Float32Array, label: string): Promise<void> => {
  if (kind === 'silu') {
    assertSameBits(await viaTf(wasm.SILU, { x }, { x: shape }), ref(js.siluKernel, [x], [shape]), `${label} ${wasm.SILU} [${shape}]`);
    assertSameBits(await viaTf(wasm.SILU_GRAD, { dy, x }, { dy: shape, x: shape }), ref(js.siluGradKernel, [dy, x], [shape, shape]), `${label} ${wasm.SILU_GRAD} [${shape}]`);
  } else {
    const half = [...shape.slice(0, -1), shape[shape.length - 1]! / 2];
    assertSameBits(await viaTf(wasm.GEGLU, { x }, { x: shape }), ref(js.gegluKernel, [x], [shape]), `${label} ${wasm.GEGLU} [${shape}]`);
    assertSameBits(await viaTf(wasm.GEGLU_GRAD, { dy, x }, { dy: half, x: shape }), ref(js.gegluGradKernel, [dy, x], [half, shape]), `${label} ${wasm.GEGLU_GRAD} [${shape}]`);
  }
};

for (const backend of ['cpu', 'wasm'] as const) {
  test(`through tfjs on ${backend}: the registered activation kernels give the JS kernels' bits, every shape and extreme`, async () => {
    await selectBackend(backend);
    assert.equal(tf.getBackend(), backend);
    // on wasm the first call runs on copies and then readies the in-place instance (its table in the heap); the
    // rest run on the tensors' floats in place
    for (const [k, shape] of SILU_SHAPES.entries()) await checkViaTf('silu', shape, randomArray(size(shape), 10 * k + 1, 12, 0.3), randomArray(size(shape), 10 * k + 2, 4), backend);
    for (const [k, shape] of GEGLU_SHAPES.entries()) await checkViaTf('geglu', shape, randomArray(size(shape), 10 * k + 1, 12, 0.3), randomArray(size(shape) / 2, 10 * k + 2, 4), backend);
    const e = EXTREMES.length;
    const before = nansMet;
    await checkViaTf('silu', [e, e], Float32Array.from({ length: e * e }, (_, i) => EXTREMES[i % e]!), Float32Array.from({ length: e * e }, (_, i) => EXTREMES[Math.floor(i / e)]!), `${backend} extremes`);
    const { x, dy } = gegluExtremes();
    await checkViaTf('geglu', [e, 2 * e], x, dy, `${backend} extremes`);
    assert.ok(nansMet > before, 'the NaN cases produced NaNs');
    if (backend === 'wasm') {
      const t = tf.tensor([1, 2, 3]);
      const view = (tf.backend() as unknown as WasmHeapBackend).typedArrayFromHeap(t) as Float32Array;
      assert.ok(heapInstance([view]) !== undefined, 'the kernels ran in place on the wasm heap');
      t.dispose();
    }
  });
}
