import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Adam, emaUpdate } from '../../src/distill/adam.js';
import { squareSum } from '../../src/distill/fused-optimizer.js';
import { clipByGlobalNorm } from '../../src/distill/objectives.js';
import { gradientNorm, optimizerStep, setOptimizerPath } from '../../src/distill/optimizer-step.js';
import { floatStorage } from '../../src/tensor/float-storage.js';
import { selectBackend } from '../../src/tensor/index.js';
import { rng } from '../helpers/random-arrays.js';

// the fused optimiser pass against its oracle, the op sequences it replaces (clipByGlobalNorm, Adam.apply,
// emaUpdate), bit for bit, on both backends whose tensor storage JS reaches


// conv filters, biases, a linear weight, odd sizes; the largest has enough elements that float32 summation
// order shows in the norm
const SHAPES: Record<string, number[]> = { 'a.conv.w': [3, 3, 8, 16], 'a.conv.b': [16], 'b.lin.w': [37, 29], 'b.norm.g': [1], 'c.big.w': [64, 81] };

const randomValues = (shape: number[], next: () => number, scale: number): Float32Array => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * scale);

const params = (seed: number): Record<string, tf.Variable> => {
  const next = rng(seed);
  return Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, tf.tidy(() => tf.variable(tf.tensor(randomValues(s, next, 2), s), true))]));
};

/** gradients for a step; some exact zeros and signed zeros, and a scale that varies from step to step */
const gradients = (seed: number, scale: number): Record<string, tf.Tensor> => {
  const next = rng(seed);
  return Object.fromEntries(
    Object.entries(SHAPES).map(([k, s]) => {
      const v = randomValues(s, next, scale);
      for (let i = 0; i < v.length; i += 17) v[i] = i % 34 === 0 ? 0 : -0;
      return [k, tf.tensor(v, s)];
    }),
  );
};

/** an EMA that shares its buffers with the parameters, as cloneParams makes it (tf.clone shares memory) */
const emaOf = (p: Record<string, tf.Variable>): Record<string, tf.Variable> => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.tidy(() => tf.variable(v.clone(), false))]));

const bits = (ts: Record<string, tf.Tensor>): Record<string, number[]> =>
  Object.fromEntries(Object.keys(ts).sort().map((k) => [k, Array.from(new Uint32Array((ts[k]!.dataSync() as Float32Array).slice().buffer))]));

interface Case {
  maxNorm: number;
  weightDecay: number;
  emaDecay: number;
}

interface Run {
  params: Record<string, number[]>;
  ema: Record<string, number[]>;
  state: Record<string, number[]>;
  norms: number[];
  clipped: number;
  kernels: number;
  /** steps after the first that wrote every Adam moment in place */
  inPlace: number;
}

const STEPS = 6;
const gradScale = (step: number): number => [0.01, 3, 0.2, 0.05, 1.5, 0.7][step % 6] as number;

/** STEPS steps of clip → Adam → EMA, the original op sequences when `fused` is false */
const train = async (c: Case, fused: boolean): Promise<Run> => {
  const p = params(11);
  const ema = emaOf(p);
  const adam = new Adam(3e-3, 0.9, 0.999, 1e-8, c.weightDecay);
  const norms: number[] = [];
  let clipped = 0;
  let kernels = 0;
  let inPlace = 0;
  for (let step = 1; step <= STEPS; step++) {
    adam.lr = 3e-3 * (1 - step / (2 * STEPS)); // a schedule: lr / c1 changes every step
    const grads = gradients(100 + step, gradScale(step));
    if (fused) {
      setOptimizerPath('fused');
      const moments = Object.keys(p).map((k) => adam.m.get(k)?.dataId);
      const info = await tf.profile(() => {
        const norm = gradientNorm(grads);
        norms.push(norm);
        optimizerStep({ adam, params: p, grads, norm, maxNorm: c.maxNorm, ema: { params: ema, decay: c.emaDecay } });
      });
      kernels += info.kernels.length;
      if (step > 1 && Object.keys(p).every((k, i) => adam.m.get(k)?.dataId === moments[i])) inPlace++;
    } else {
      tf.tidy(() => {
        const out = clipByGlobalNorm(grads, c.maxNorm);
        norms.push(out.norm);
        adam.apply(p, out.grads);
        emaUpdate(ema, p, c.emaDecay);
      });
    }
    if (norms[norms.length - 1]! > c.maxNorm) clipped++;
    tf.dispose(Object.values(grads));
  }
  const state = adam.state('adam/');
  const run = { params: bits(p), ema: bits(ema), state: bits(state.tensors), norms, clipped, kernels, inPlace };
  adam.dispose();
  tf.dispose([...Object.values(p), ...Object.values(ema)]);
  return run;
};

const CASES: Case[] = [
  { maxNorm: 1e9, weightDecay: 0, emaDecay: 0.99 },
  { maxNorm: 0.5, weightDecay: 0, emaDecay: 0.99 },
  { maxNorm: 0.5, weightDecay: 0.01, emaDecay: 0 },
  { maxNorm: 1e9, weightDecay: 0.01, emaDecay: 0 },
];

for (const backend of ['wasm', 'cpu'] as const) {
  test(`${backend}: the fused clip + Adam + EMA equals the op sequences bit for bit, with no tfjs kernel call`, async (t) => {
    if (backend === 'wasm') assert.equal((await selectBackend('wasm')).name, 'wasm');
    else await tf.setBackend('cpu');
    assert.equal(floatStorage()?.kind, backend);
    for (const c of CASES) {
      await t.test(`clip at ${c.maxNorm}, weight decay ${c.weightDecay}, EMA decay ${c.emaDecay}`, async () => {
        const before = tf.memory().numTensors;
        const ops = await train(c, false);
        const fused = await train(c, true);
        assert.deepEqual(fused.norms, ops.norms, 'global norms');
        assert.deepEqual(fused.params, ops.params, 'parameters');
        assert.deepEqual(fused.ema, ops.ema, 'EMA');
        assert.deepEqual(fused.state, ops.state, 'Adam state (same keys, same values)');
        assert.equal(fused.kernels, 0, 'the fused pass runs no tfjs kernel');
        // wasm writes the moments in its heap in place; cpu never writes in place (a tensor's array may be its
        // creator's)
        assert.equal(fused.inPlace, backend === 'wasm' ? STEPS - 1 : 0, 'in-place steps');
        // the cases exercise what they name: clipping on in some steps only, or never
        if (c.maxNorm < 1e9) assert.ok(ops.clipped > 0 && ops.clipped < STEPS, `clipped in ${ops.clipped} of ${STEPS} steps`);
        else assert.equal(ops.clipped, 0);
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      });
    }
  });
}

test('the float32 summation order matters, so the norm replicates each backend’s Sum kernel', async () => {
  const next = rng(5);
  const g = Float32Array.from({ length: 20_000 }, () => next());
  const sums: number[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    if (backend === 'wasm') await selectBackend('wasm');
    else await tf.setBackend('cpu');
    const byKernel = tf.tidy(() => tf.sum(tf.square(tf.tensor(g))).dataSync()[0]);
    // (on wasm the sum runs on the tensor's values in tfjs's heap)
    const t = tf.tensor(g);
    sums.push(squareSum(floatStorage()!.view(t), backend));
    t.dispose();
    assert.equal(sums[sums.length - 1], byKernel, backend);
  }
  // the two kernels round differently at this size: each emulation is needed, not one for both
  assert.notEqual(sums[0], sums[1]);
});

test('a fused step resumes from a restored Adam state exactly as the op path continues', async () => {
  await selectBackend('wasm');
  const c: Case = { maxNorm: 0.5, weightDecay: 0.01, emaDecay: 0.99 };
  const stepOnce = (adam: Adam, p: Record<string, tf.Variable>, ema: Record<string, tf.Variable>, step: number): void => {
    const grads = gradients(300 + step, gradScale(step));
    optimizerStep({ adam, params: p, grads, norm: gradientNorm(grads), maxNorm: c.maxNorm, ema: { params: ema, decay: c.emaDecay } });
    tf.dispose(Object.values(grads));
  };
  const run = (path: 'fused' | 'ops', resumeAt: number | undefined): Record<string, number[]> => {
    setOptimizerPath(path);
    const p = params(21);
    const ema = emaOf(p);
    let adam = new Adam(1e-3, 0.9, 0.999, 1e-8, c.weightDecay);
    for (let step = 1; step <= 5; step++) {
      if (step === resumeAt) {
        // a checkpoint round trip: the state as tensors, a new optimiser restored from their copies
        const { tensors, step: at } = adam.state('s/');
        const saved = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, tf.tensor(v.dataSync(), v.shape)]));
        adam.dispose();
        adam = new Adam(1e-3, 0.9, 0.999, 1e-8, c.weightDecay);
        adam.restore('s/', saved, at);
        tf.dispose(Object.values(saved));
      }
      stepOnce(adam, p, ema, step);
    }
    const out = { ...bits(p), ...Object.fromEntries(Object.entries(bits(ema)).map(([k, v]) => [`ema/${k}`, v])) };
    adam.dispose();
    tf.dispose([...Object.values(p), ...Object.values(ema)]);
    return out;
  };
  try {
    const straight = run('ops', undefined);
    assert.deepEqual(run('fused', 3), straight);
    assert.deepEqual(run('fused', undefined), straight);
  } finally {
    setOptimizerPath('fused');
  }
});
