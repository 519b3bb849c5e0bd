import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import type { JsKernel } from '../../src/tensor/js-kernels.js';
import type { KernelAttrs } from '../../src/tensor/kernel-calls.js';
import * as wasm from '../../src/tensor/norm-kernels.js';
import * as js from './norm-wasm-js-reference.js';
import { rng, randomArray } from '../helpers/random-arrays.js';

// the WebAssembly norm kernels (assembly/norm.ts behind src/tensor/norm-kernels.ts) against the JS kernels they
// replaced (norm-wasm-js-reference.ts), bit for bit: every output float's 32 bits, except that a NaN need only meet
// a NaN: which NaN an operation returns (its sign) is left open by IEEE 754 and by wasm, and follows the operand
// order the compiler picks (V8 commutes x·y freely), so neither side's NaN bits are a property of the kernel. run
// on plain arrays (the bodies both backends share) and through tfjs on the cpu and the wasm backend.

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

/** both kernels' bodies on the same arrays: their outputs */
const runBoth = (wasmKernel: JsKernel, jsKernel: JsKernel, ins: Float32Array[], shapes: number[][], attrs: KernelAttrs): [Float32Array[], Float32Array[]] => {
  const outShapes = jsKernel.outputShapes(shapes, attrs);
  assert.deepEqual(wasmKernel.outputShapes(shapes, attrs), outShapes);
  const make = (): Float32Array[] => outShapes.map((s) => new Float32Array(size(s)).fill(Number.NaN));
  const got = make();
  const want = make();
  wasmKernel.run(ins, got, shapes, attrs);
  jsKernel.run(ins, want, shapes, attrs);
  return [got, want];
};

interface GroupCase {
  shape: number[];
  groups: number;
  /** x = offset + scale·U(−½, ½) */
  scale?: number;
  offset?: number;
  gammaScale?: number;
}

// the model's shapes (NHWC, C 16..64, groups 8, B 16 and 2B = 32 at 16², 8², 4²), then odd ones: widths that are
// not multiples of 4 (the scalar sums), an odd group count (the unpaired group), channel tails (C % 4, odd C),
// several tiles per sample with a partial last one, rank 3
const GROUP_CASES: GroupCase[] = [
  { shape: [16, 16, 16, 16], groups: 8 },
  { shape: [16, 8, 8, 32], groups: 8 },
  { shape: [32, 4, 4, 32], groups: 8 },
  { shape: [2, 16, 16, 64], groups: 8 },
  { shape: [3, 5, 7, 12], groups: 3 },
  { shape: [2, 3, 3, 10], groups: 5 },
  { shape: [1, 3, 3, 8], groups: 8 },
  { shape: [3, 4, 2, 6], groups: 1 },
  { shape: [2, 5, 4, 9], groups: 3 },
  { shape: [2, 7, 10], groups: 2 },
  { shape: [2, 17, 13, 12], groups: 4 },
  { shape: [1, 700, 3], groups: 3 },
  { shape: [2, 9, 9, 24], groups: 8, scale: 4, offset: 3 },
  // a mean far above the spread: Σx² rounds in double and var = Σx²/n − mean² cancels, so the outputs show the
  // order of every sum (these cases fail when a sum is reassociated or the tile changes)
  { shape: [2, 16, 16, 32], groups: 8, scale: 0.05, offset: 1e4 },
  { shape: [2, 16, 16, 16], groups: 8, scale: 0.05, offset: 1e4 },
  { shape: [1, 23, 19, 12], groups: 1, scale: 0.05, offset: 1e4 },
  // large |x| and γ: z far beyond ±700, where exp clamps (0 and ∞ after rounding)
  { shape: [2, 6, 6, 16], groups: 8, scale: 1e6, offset: -2e5, gammaScale: 3e3 },
  { shape: [2, 6, 6, 16], groups: 8, scale: 3e30, gammaScale: 1e4 },
];

const groupInputs = (c: GroupCase, seed: number): { x: Float32Array; gamma: Float32Array; beta: Float32Array; dy: Float32Array } => {
  const channels = c.shape[c.shape.length - 1]!;
  return {
    x: randomArray(size(c.shape), seed, c.scale ?? 3, c.offset ?? 0.7),
    gamma: randomArray(channels, seed + 1, c.gammaScale ?? 2, 1),
    beta: randomArray(channels, seed + 2, 2, 0),
    dy: randomArray(size(c.shape), seed + 3, 2, 0),
  };
};

/** forward (± SiLU, ± kept gate) and the gradients (gated, ungated) of one case, wasm vs JS, bit for bit */
const checkGroupCase = (c: GroupCase, seed: number, inputs = groupInputs(c, seed)): void => {
  const { x, gamma, beta, dy } = inputs;
  const channels = c.shape[c.shape.length - 1]!;
  const vector = [channels];
  for (const silu of [false, true]) {
    for (const keepGate of silu ? [false, true] : [false]) {
      const attrs = { groups: c.groups, eps: 1e-5, silu, keepGate };
      const label = `[${c.shape}] groups ${c.groups} silu ${silu} keepGate ${keepGate}`;
      const [got, want] = runBoth(wasm.groupNormKernel, js.groupNormKernel, [x, gamma, beta], [c.shape, vector, vector], attrs);
      want.forEach((w, i) => assertSameBits(got[i], w, `${label} forward output ${i}`));
      const [, mean, rstd, gate] = want as [Float32Array, Float32Array, Float32Array, Float32Array | undefined];
      const stats = [c.shape[0]!, c.groups];
      const gradIns = [dy, x, gamma, beta, mean, rstd];
      const gradShapes = [c.shape, c.shape, vector, vector, stats, stats];
      const [gotGrad, wantGrad] =
        gate === undefined
          ? runBoth(wasm.groupNormGradKernel, js.groupNormGradKernel, gradIns, gradShapes, attrs)
          : runBoth(wasm.groupNormGradGatedKernel, js.groupNormGradGatedKernel, [...gradIns, gate], [...gradShapes, c.shape], attrs);
      wantGrad.forEach((w, i) => assertSameBits(gotGrad[i], w, `${label} gradient output ${i}`));
    }
  }
};

test('wasm group norm (± SiLU, ± gate) and its gradients equal the JS kernels bit for bit', () => {
  GROUP_CASES.forEach((c, i) => checkGroupCase(c, 100 * i + 1));
});

test('wasm group norm: NaN, ±∞, subnormals, ±0 and float32 extremes give the JS kernels bits', () => {
  const c: GroupCase = { shape: [2, 5, 5, 16], groups: 8 };
  const inputs = groupInputs(c, 7);
  const n = inputs.x.length;
  // group 0 of sample 0 holds a NaN, group 1 an ∞; sample 1 mixes subnormals, zeros of both signs, float32's max
  inputs.x[0] = Number.NaN;
  inputs.x[2] = Number.POSITIVE_INFINITY;
  for (let i = n / 2; i < n; i += 5) inputs.x[i] = [1e-40, -0, 0, 3.4e38, -3.4e38][(i / 5) % 5]!;
  inputs.dy[n - 1] = Number.NaN;
  inputs.gamma[5] = 0;
  inputs.beta[6] = -0;
  const before = nansMet;
  checkGroupCase(c, 7, inputs);
  assert.ok(nansMet > before, 'the NaN cases produced NaNs');
  // a whole tensor of one value: zero variance
  checkGroupCase(c, 8, { ...inputs, x: new Float32Array(n).fill(1.5) });
});

test('wasm SiLU exp equals fastExp over its whole range, clamps included', () => {
  // γ = 0 makes z = β exactly (x·0 + β): one channel per group, β a sweep of z across ±800, edges, ±0, NaN
  const zs = [0, -0, 700, -700, 700.0001, -700.0001, 745.2, -745.2, 1e4, -1e4, 88.7, -88.7, 1e-30, -1e-30, Number.NaN, 1e38, -1e38];
  const next = rng(3);
  while (zs.length < 4096) zs.push(1600 * next());
  const C = zs.length;
  const shapes = [[1, 2, C], [C], [C]];
  const ins = [randomArray(2 * C, 5), new Float32Array(C), Float32Array.from(zs)];
  for (const keepGate of [false, true]) {
    const [got, want] = runBoth(wasm.groupNormKernel, js.groupNormKernel, ins, shapes, { groups: C, eps: 1e-5, silu: true, keepGate });
    want.forEach((w, i) => assertSameBits(got[i], w, `exp sweep keepGate ${keepGate} output ${i}`));
  }
});

const LAYER_SHAPES = [[16, 16, 32], [32, 16, 32], [3, 7, 10], [1, 1], [5, 33], [2, 3, 4, 64], [4, 5]];

test('wasm layer norm and its gradient equal the JS kernels bit for bit, extremes included', () => {
  LAYER_SHAPES.forEach((shape, k) => {
    const C = shape[shape.length - 1]!;
    // every other shape with a mean far above the spread (the row sums' order shows through the cancellation)
    const x = k % 2 === 0 ? randomArray(size(shape), 10 * k + 1, 3, 0.7) : randomArray(size(shape), 10 * k + 1, 0.05, 1e4);
    if (k === 2) {
      x[0] = Number.NaN;
      x[11] = Number.POSITIVE_INFINITY;
      x[21] = 1e-40;
      x[22] = -3.4e38;
    }
    const gamma = randomArray(C, 10 * k + 2, 2, 1);
    const beta = randomArray(C, 10 * k + 3, 2, 0);
    const attrs = { eps: 1e-5 };
    const [got, want] = runBoth(wasm.layerNormKernel, js.layerNormKernel, [x, gamma, beta], [shape, [C], [C]], attrs);
    want.forEach((w, i) => assertSameBits(got[i], w, `layerNorm [${shape}] output ${i}`));
    const [, mean, rstd] = want as [Float32Array, Float32Array, Float32Array];
    const dy = randomArray(size(shape), 10 * k + 4, 2, 0);
    const rows = shape.slice(0, -1);
    const [gotGrad, wantGrad] = runBoth(wasm.layerNormGradKernel, js.layerNormGradKernel, [dy, x, gamma, mean, rstd], [shape, shape, [C], rows, rows], attrs);
    wantGrad.forEach((w, i) => assertSameBits(gotGrad[i], w, `layerNormGrad [${shape}] output ${i}`));
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`through tfjs on ${backend}: the registered norm kernels give the JS kernels' bits`, async () => {
    await selectBackend(backend);
    assert.equal(tf.getBackend(), backend);
    const c: GroupCase = { shape: [16, 8, 8, 32], groups: 8 };
    const { x, gamma, beta, dy } = groupInputs(c, 42);
    const vector = [32];
    const attrs = { groups: 8, eps: 1e-6, silu: true, keepGate: true };
    const ref = (kernel: JsKernel, ins: Float32Array[], shapes: number[][]): Float32Array[] => {
      const outs = kernel.outputShapes(shapes, attrs).map((s) => new Float32Array(size(s)));
      kernel.run(ins, outs, shapes, attrs);
      return outs;
    };
    const viaTf = async (name: string, ins: Record<string, Float32Array>, shapes: Record<string, number[]>, a: KernelAttrs): Promise<Float32Array[]> => {
      const tensors = Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, tf.tensor(v, shapes[k])]));
      const out = tf.engine().runKernel(name, tensors, a as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(out) ? out : [out];
      const arrays = await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
      tf.dispose([...outs, ...Object.values(tensors)]);
      return arrays;
    };
    const want = ref(js.groupNormKernel, [x, gamma, beta], [c.shape, vector, vector]);
    const got = await viaTf(wasm.GROUP_NORM, { x, gamma, beta }, { x: c.shape, gamma: vector, beta: vector }, attrs);
    want.forEach((w, i) => assertSameBits(got[i], w, `${backend} ${wasm.GROUP_NORM} output ${i}`));
    const [, mean, rstd, gate] = want as [Float32Array, Float32Array, Float32Array, Float32Array];
    const gradIns = { dy, x, gamma, beta, mean, rstd, gate };
    const gradShapes = { dy: c.shape, x: c.shape, gamma: vector, beta: vector, mean: [16, 8], rstd: [16, 8], gate: c.shape };
    const wantGrad = ref(js.groupNormGradGatedKernel, Object.values(gradIns), Object.values(gradShapes));
    const gotGrad = await viaTf(wasm.GROUP_NORM_GRAD_GATED, gradIns, gradShapes, attrs);
    wantGrad.forEach((w, i) => assertSameBits(gotGrad[i], w, `${backend} ${wasm.GROUP_NORM_GRAD_GATED} output ${i}`));

    const shape = [16, 16, 32];
    const lx = randomArray(size(shape), 43, 3, 0.7);
    const lWant = ref(js.layerNormKernel, [lx, gamma, beta], [shape, vector, vector]);
    const lGot = await viaTf(wasm.LAYER_NORM, { x: lx, gamma, beta }, { x: shape, gamma: vector, beta: vector }, { eps: 1e-6 });
    lWant.forEach((w, i) => assertSameBits(lGot[i], w, `${backend} ${wasm.LAYER_NORM} output ${i}`));
    const [, lMean, lRstd] = lWant as [Float32Array, Float32Array, Float32Array];
    const ldy = randomArray(size(shape), 44, 2, 0);
    const lgWant = ref(js.layerNormGradKernel, [ldy, lx, gamma, lMean, lRstd], [shape, shape, vector, [16, 16], [16, 16]]);
    const lgGot = await viaTf(wasm.LAYER_NORM_GRAD, { dy: ldy, x: lx, gamma, mean: lMean, rstd: lRstd }, { dy: shape, x: shape, gamma: vector, mean: [16, 16], rstd: [16, 16] }, {});
    lgWant.forEach((w, i) => assertSameBits(lgGot[i], w, `${backend} ${wasm.LAYER_NORM_GRAD} output ${i}`));
  });
}
