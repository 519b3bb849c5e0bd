import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../../src/distill/adam.js';
import { fusedAdamStep, fusedGlobalNorm, squareSum } from '../../src/distill/fused-optimizer.js';
import { adamWasm, emaWasm, squareSumWasm, type AdamScalars } from '../../src/distill/optimizer-wasm.js';
import { floatStorage } from '../../src/tensor/float-storage.js';
import { selectBackend } from '../../src/tensor/index.js';
import * as js from './fused-optimizer-js-reference.js';
import { randomArray } from '../helpers/random-arrays.js';

// the fused optimiser's WebAssembly loops (assembly/optimizer.ts behind src/distill/optimizer-wasm.ts) against the
// JS loops they replaced (fused-optimizer-js-reference.ts), bit for bit: every output float's 32 bits, except that
// a NaN need only meet a NaN (IEEE 754 and wasm leave a NaN result's sign and payload open). on heap arrays of the
// bench model's shapes and odd lengths, with extremes mixed in, then whole steps through tfjs's wasm backend.

/** the parameter shapes of the bench's student (embedded width, base 16, patch 2: 246 tensors, 367,196 floats) */
const MODEL_SHAPES = [[16, 64], [64], [64, 64], [3, 3, 12, 16], [16], [3, 3, 16, 16], [64, 16], [3, 3, 16, 32], [32], [64, 32], [3, 3, 32, 32], [1, 1, 16, 32], [32, 32], [32, 256], [256], [128, 32], [3, 3, 64, 32], [1, 1, 64, 32], [48], [3, 3, 48, 32], [1, 1, 48, 32], [3, 3, 48, 16], [1, 1, 48, 16], [3, 3, 32, 16], [1, 1, 32, 16], [3, 3, 16, 12], [12]];
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** lengths whose tails are not whole f32x4 lanes, and the empty tensor */
const ODD_LENGTHS = [0, 1, 2, 3, 5, 6, 7, 9, 13, 17, 31, 1023];
const LENGTHS = [...new Set([...MODEL_SHAPES.map(size), ...ODD_LENGTHS])];

/** ±0, the smallest and largest subnormals, the smallest normal, ±large (products overflow), ±∞ */
const EXTREMES = [0, -0, 1e-45, -1e-45, 1.1754942e-38, -5e-39, 1.1754944e-38, 3.4e38, -3.4e38, 1e20, -1e-20, Infinity, -Infinity, 1, -1, 1e-7];

/** n values at scale, with the extremes at every 7th place from `shift` on (all of them meet every other array's) */
const values = (n: number, seed: number, scale: number, shift: number): Float32Array => {
  const a = randomArray(n, seed, scale);
  for (let i = shift % 7; i < n; i += 7) a[i] = EXTREMES[(Math.floor(i / 7) + seed) % EXTREMES.length] as number;
  return a;
};

let nansMet = 0;
/** NaNs whose bits differ (counted for the record; allowed) */
let nanBitsDiffer = 0;
const assertSameBits = (got: Float32Array, want: Float32Array, label: string): void => {
  assert.equal(got.length, want.length, `${label}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] === w[i]) continue;
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) {
      nanBitsDiffer++;
      continue;
    }
    assert.fail(`${label}[${i}]: ${got[i]} (0x${g[i]!.toString(16)}) vs ${want[i]} (0x${w[i]!.toString(16)})`);
  }
  for (const x of want) if (Number.isNaN(x)) nansMet++;
};

/** Adam's scalars as fusedAdamStep forms them (float32), for a step of the given settings */
const scalarsOf = (o: { lr: number; step: number; wd: number; clip?: number; beta1?: number; beta2?: number; eps?: number }): AdamScalars => {
  const f = Math.fround;
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  return { scale: o.clip === undefined ? 1 : f(o.clip), scaled: o.clip !== undefined, wd: f(o.wd), decayed: o.wd > 0, b1: f(b1), g1: f(1 - b1), b2: f(b2), g2: f(1 - b2), rate: f(o.lr / (1 - b1 ** o.step)), bc2: f(1 - b2 ** o.step), eps: f(o.eps ?? 1e-8) };
};

const SCALAR_CASES: [string, AdamScalars][] = [
  ['step 1, no clip, no decay', scalarsOf({ lr: 3e-3, step: 1, wd: 0 })],
  ['step 7, clip 0.37', scalarsOf({ lr: 1e-4, step: 7, wd: 0, clip: 0.37 })],
  ['step 3, weight decay 0.01', scalarsOf({ lr: 2e-3, step: 3, wd: 0.01 })],
  ['step 1000, clip and weight decay', scalarsOf({ lr: 5e-4, step: 1000, wd: 0.1, clip: 1e-3 })],
  ['ε 0, huge rate, clip 1e30', scalarsOf({ lr: 1e30, step: 2, wd: 1e-30, clip: 1e30, eps: 0 })],
];
const GRAD_SCALES = [1e-3, 1, 1e-39, 1e30];

/** float32 tensors on tfjs's wasm heap holding `arrays`, and their views (taken after every allocation) */
const onHeap = (...arrays: Float32Array[]): { views: Float32Array[]; dispose: () => void } => {
  const s = floatStorage();
  assert.ok(s?.kind === 'wasm');
  const tensors = arrays.map((a) => s.allocate([a.length]));
  const views = tensors.map((t) => s.view(t));
  views.forEach((v, i) => v.set(arrays[i]!));
  return { views, dispose: () => tf.dispose(tensors) };
};

/** moments as fusedAdamStep passes them: zeroed outputs on a first step, else updated in place or into new buffers */
const MOMENTS = ['first step', 'in place', 'new buffers'] as const;

test('the wasm Adam (+ EMA) loop gives the JS loop’s bits: model shapes, odd lengths, extremes, every flag', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  const tensorsBefore = tf.memory().numTensors;
  nansMet = 0;
  let checked = 0;
  for (const n of LENGTHS) {
    for (const [label, k] of SCALAR_CASES) {
      for (const [si, gScale] of GRAD_SCALES.entries()) {
        const seed = n + 31 * si;
        const g = values(n, seed, gScale, 0);
        const p = values(n, seed + 1, 2, 1);
        const m = values(n, seed + 2, gScale, 2);
        const v = values(n, seed + 3, gScale * gScale, 3).map(Math.abs);
        const e = values(n, seed + 4, 2, 4);
        for (const moments of MOMENTS) {
          const first = moments === 'first step';
          for (const withEma of [false, true]) {
            const tag = `n ${n}, ${label}, g×${gScale}, ${moments}, ${withEma ? 'EMA' : 'no EMA'}`;
            const decay = Math.fround(n % 2 ? 0.999 : 0.99);
            const rest = Math.fround(1 - (n % 2 ? 0.999 : 0.99));
            // reference: fusedAdamStep's JS calls (moments zeroed on a first step)
            const want = { p: new Float32Array(n), m: first ? new Float32Array(n) : m.slice(), v: first ? new Float32Array(n) : v.slice(), e: new Float32Array(n) };
            js.adamElements(k, g, p, want.p, want.m, want.m, want.v, want.v);
            if (withEma) js.emaElements(e, want.p, want.e, decay, rest);
            // wasm, on heap tensors as fusedAdamStep hands them over; outputs start as NaN
            const nan = new Float32Array(n).fill(Number.NaN);
            const zeros = new Float32Array(n);
            const heap = onHeap(g, p, nan, first ? zeros : m, first ? zeros : v, moments === 'new buffers' ? nan : m, moments === 'new buffers' ? nan : v, e, nan);
            const [hg, hp, hpw, hmv, hvv, hmw, hvw, he, hew] = heap.views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
            const [mw, vw] = moments === 'new buffers' ? [hmw, hvw] : [hmv, hvv];
            adamWasm(k, hg, hp, hpw, hmv, mw, hvv, vw, withEma ? { from: he, to: hew, decay, rest } : undefined);
            assertSameBits(hpw, want.p, `${tag}: p`);
            assertSameBits(mw, want.m, `${tag}: m`);
            assertSameBits(vw, want.v, `${tag}: v`);
            if (withEma) assertSameBits(hew, want.e, `${tag}: EMA`);
            // inputs untouched (but the moments updated in place)
            assertSameBits(hg, g, `${tag}: g kept`);
            assertSameBits(hp, p, `${tag}: p kept`);
            if (moments === 'new buffers') assertSameBits(hmv, m, `${tag}: m kept`);
            if (withEma) assertSameBits(he, e, `${tag}: EMA kept`);
            heap.dispose();
            checked += n;
          }
        }
      }
    }
  }
  assert.ok(checked > 5_000_000, `${checked} elements`);
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.ok(nansMet > 0, 'the extremes produce NaNs (∞ − ∞, 0 / 0), so the NaN cases ran');
  if (process.env['NAN_REPORT']) console.log(`${checked} elements, ${nansMet} NaNs, ${nanBitsDiffer} with other bits`);
});

test('the wasm EMA loop gives the JS loop’s bits, in place and not', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  for (const n of LENGTHS) {
    for (const decay of [0, 0.5, 0.99, 0.9999, 1]) {
      const e = values(n, n, 2, 0);
      const p = values(n, n + 1, 1e-38, 3);
      const [d, r] = [Math.fround(decay), Math.fround(1 - decay)];
      const want = new Float32Array(n);
      js.emaElements(e, p, want, d, r);
      const heap = onHeap(e, p, new Float32Array(n).fill(Number.NaN), e);
      const [he, hp, got, inPlace] = heap.views as [Float32Array, Float32Array, Float32Array, Float32Array];
      emaWasm(he, hp, got, d, r);
      assertSameBits(got, want, `n ${n}, decay ${decay}`);
      assertSameBits(he, e, `n ${n}, decay ${decay}: e kept`);
      emaWasm(inPlace, hp, inPlace, d, r);
      assertSameBits(inPlace, want, `n ${n}, decay ${decay}, in place`);
      heap.dispose();
    }
  }
});

test('the wasm Σg² adds in the JS (and tfjs-wasm Sum kernel) order, to the bit', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  for (const n of [...LENGTHS, 376_000]) {
    for (const [si, scale] of [1e-3, 1, 1e-20, 1e-39, 1e19].entries()) {
      // mostly ordinary values, so that the sums stay finite and their rounding shows
      const g = randomArray(n, n + si, scale);
      if (si === 3) for (let i = 0; i < n; i += 97) g[i] = EXTREMES[i % EXTREMES.length] as number;
      const want = js.squareSum(g, 'wasm');
      const heap = onHeap(g);
      const hg = heap.views[0]!;
      const got = squareSumWasm(hg);
      assert.ok(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)), `n ${n}, scale ${scale}: ${got} vs ${want}`);
      assert.equal(squareSum(hg, 'wasm'), want);
      heap.dispose();
      assert.equal(squareSum(g, 'cpu'), js.squareSum(g, 'cpu'));
    }
  }
  // a reordered sum (four lanes) would differ here: the order is what the test holds
  const g = randomArray(376_000, 3, 1);
  let lanes = [0, 0, 0, 0];
  for (let i = 0; i < g.length; i++) lanes[i % 4] = Math.fround(lanes[i % 4]! + Math.fround(g[i]! * g[i]!));
  lanes = lanes.map(Math.fround);
  const heap = onHeap(g);
  assert.notEqual(Math.fround(Math.fround(lanes[0]! + lanes[1]!) + Math.fround(lanes[2]! + lanes[3]!)), squareSumWasm(heap.views[0]!));
  heap.dispose();
});

test('the heap kernels refuse arrays that are not views of tfjs’s current heap', async () => {
  assert.equal((await selectBackend('wasm')).name, 'wasm');
  assert.throws(() => squareSumWasm(new Float32Array(8)), /not of tfjs's current heap/);
});

// whole steps through tfjs: the model shapes, some gradients with extremes, a parameter without a gradient
const stepShapes: Record<string, number[]> = Object.fromEntries(MODEL_SHAPES.map((s, i) => [`p${String(i).padStart(2, '0')}`, s]));
const bitsOf = (ts: Record<string, tf.Tensor>): Record<string, number[]> => Object.fromEntries(Object.keys(ts).sort().map((k) => [k, Array.from(new Uint32Array((ts[k]!.dataSync() as Float32Array).slice().buffer))]));

interface StepCase {
  weightDecay: number;
  /** the clip coefficient of steps 2 and 4 (none in the others) */
  clip: number | undefined;
  extremes: boolean;
}

const trainSteps = (c: StepCase, step: typeof fusedAdamStep, norm: typeof fusedGlobalNorm): { params: Record<string, number[]>; ema: Record<string, number[]>; state: Record<string, number[]>; norms: number[] } => {
  const s = floatStorage();
  assert.ok(s);
  const names = Object.keys(stepShapes);
  const params = Object.fromEntries(names.map((k, i) => {
    const n = size(stepShapes[k]!);
    return [k, tf.tidy(() => tf.variable(tf.tensor(c.extremes && i % 3 === 0 ? values(n, i, 2, 1) : randomArray(n, i, 2), stepShapes[k]), true))];
  }));
  // as cloneParams makes it: the EMA shares the parameters' buffers at first
  const ema = Object.fromEntries(names.map((k) => [k, tf.tidy(() => tf.variable(params[k]!.clone(), false))]));
  const adam = new Adam(3e-3, 0.9, 0.999, 1e-8, c.weightDecay);
  const norms: number[] = [];
  for (let t = 1; t <= 4; t++) {
    // p03 has no gradient: its EMA follows the parameter alone
    const grads = Object.fromEntries(names.filter((k) => k !== 'p03').map((k, i) => {
      const n = size(stepShapes[k]!);
      const g = c.extremes && i % 5 === 0 ? values(n, 100 * t + i, 1e-3, t) : randomArray(n, 100 * t + i, 10 ** -t);
      return [k, tf.tensor(g, stepShapes[k])];
    }));
    norms.push(norm(s, grads));
    step(adam, s, params, grads, t % 2 === 0 ? c.clip : undefined, { params: ema, decay: 0.99 });
    tf.dispose(Object.values(grads));
  }
  const out = { params: bitsOf(params), ema: bitsOf(ema), state: bitsOf(adam.state('adam/').tensors), norms };
  adam.dispose();
  tf.dispose([...Object.values(params), ...Object.values(ema)]);
  return out;
};

/** NaN bits normalised: which NaN comes out is not a property of either path */
const canonical = (r: Record<string, number[]>): Record<string, number[]> => Object.fromEntries(Object.entries(r).map(([k, b]) => [k, b.map((x) => ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0 ? 0x7fc00000 : x))]));

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: fusedAdamStep and fusedGlobalNorm give the old JS pass’s bits over whole steps (model shapes, clip and weight decay on/off, extremes)`, async (t) => {
    if (backend === 'wasm') assert.equal((await selectBackend('wasm')).name, 'wasm');
    else await tf.setBackend('cpu');
    assert.equal(floatStorage()?.kind, backend);
    for (const c of [
      { weightDecay: 0, clip: undefined, extremes: false },
      { weightDecay: 0.01, clip: 0.25, extremes: false },
      { weightDecay: 0, clip: 0.5, extremes: true },
      { weightDecay: 0.01, clip: undefined, extremes: true },
    ] satisfies StepCase[]) {
      await t.test(`weight decay ${c.weightDecay}, clip ${c.clip ?? 'off'}${c.extremes ? ', extremes' : ''}`, () => {
        const before = tf.memory().numTensors;
        const want = trainSteps(c, js.fusedAdamStep, js.fusedGlobalNorm);
        const got = trainSteps(c, fusedAdamStep, fusedGlobalNorm);
        assert.deepEqual(got.norms, want.norms, 'global norms');
        assert.deepEqual(canonical(got.params), canonical(want.params), 'parameters');
        assert.deepEqual(canonical(got.ema), canonical(want.ema), 'EMA');
        assert.deepEqual(canonical(got.state), canonical(want.state), 'Adam moments');
        if (!c.extremes) assert.ok(want.norms.every(Number.isFinite) && Object.values(want.params).flat().every((x) => (x & 0x7f800000) !== 0x7f800000), 'finite');
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      });
    }
  });
}
