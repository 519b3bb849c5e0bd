import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import {
  scaledLinearSchedule,
  ddimSample,
  ddpmSample,
  dpmSolverPlusPlus2M,
  inferenceTimesteps,
  dpmSolverTimesteps,
  SD_DDIM_SPACING,
  SD_DPM_SPACING,
  type DenoiserFn,
  type SamplerOptions,
  type SpacingOptions,
} from '../../src/diffusion/index.js';

// data x0 ~ N(m, s²) per coordinate: the exact ε-prediction is
// ε*(x_t, t) = (x_t − √ᾱ_t m)·√(1−ᾱ_t)/(ᾱ_t s² + 1−ᾱ_t), and the probability-flow ODE started at time t0
// maps x ↦ m + s·(x − √ᾱ0 m)/√(ᾱ0 s² + 1 − ᾱ0), an affine map the deterministic samplers must approach.

const schedule = scaledLinearSchedule();
const means = [1.0, -2.0];
const stds = [0.5, 1.5];

const exactEps: DenoiserFn<null> = (xt, t) =>
  tf.tidy(() => {
    if (typeof t !== 'number') throw new Error('scalar t expected');
    const a = schedule.alphasCumprod[t] as number;
    const m = tf.tensor1d(means.map((v) => Math.sqrt(a) * v));
    const gain = tf.tensor1d(stds.map((s) => Math.sqrt(1 - a) / (a * s * s + 1 - a)));
    return tf.mul(tf.sub(xt, m), gain);
  });

type Sampler = (options: SamplerOptions<null> & { seed?: number }) => tf.Tensor;

const firstTimestep = (sampler: Sampler, steps: number, spacing: SpacingOptions): number =>
  ((sampler === dpmSolverPlusPlus2M ? dpmSolverTimesteps : inferenceTimesteps)(1000, steps, spacing)[0] as number);

/** slope and intercept of the sampler's (affine) map from x_T to x0, per coordinate, against the ideal ODE map */
const affineError = async (sampler: Sampler, steps: number, spacing: SpacingOptions): Promise<{ slope: number[]; intercept: number[] }> => {
  const a0 = schedule.alphasCumprod[firstTimestep(sampler, steps, spacing)] as number;
  const xT = tf.tensor2d([[0, 0], [1, 1]]);
  const out = sampler({ model: exactEps, cond: null, schedule, steps, xT, spacing });
  const [at0, at1] = (await out.array()) as number[][];
  tf.dispose([xT, out]);
  const slope = stds.map((s, i) => ((at1?.[i] ?? NaN) - (at0?.[i] ?? NaN)) / (s / Math.sqrt(a0 * s * s + 1 - a0)) - 1);
  const intercept = means.map((m, i) => (at0?.[i] ?? NaN) - (m - (Math.sqrt(a0) * m * (stds[i] as number)) / Math.sqrt(a0 * (stds[i] as number) ** 2 + 1 - a0)));
  return { slope, intercept };
};

/** draws n samples starting from the exact marginal at the first timestep; returns mean and variance / s² per coordinate */
const sampleMoments = async (sampler: Sampler, steps: number, spacing: SpacingOptions, n: number): Promise<{ mean: number[]; varRatio: number[] }> => {
  const a0 = schedule.alphasCumprod[firstTimestep(sampler, steps, spacing)] as number;
  const tensorsBefore = tf.memory().numTensors;
  const xT = tf.tidy(() =>
    tf
      .randomNormal([n, 2], 0, 1, 'float32', 7)
      .mul(tf.tensor1d(stds.map((s) => Math.sqrt(a0 * s * s + 1 - a0))))
      .add(tf.tensor1d(means.map((m) => Math.sqrt(a0) * m))),
  );
  const out = sampler({ model: exactEps, cond: null, schedule, steps, xT, spacing, seed: 11 });
  const { mean, variance } = tf.moments(out, 0);
  const result = { mean: Array.from(await mean.data()), varRatio: Array.from(await variance.data()).map((v, i) => v / (stds[i] as number) ** 2) };
  tf.dispose([xT, out, mean, variance]);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'sampler leaks no tensors');
  return result;
};

const assertMoments = (label: string, got: { mean: number[]; varRatio: number[] }, n: number, discretisation: number): void => {
  means.forEach((m, i) => {
    const s = stds[i] as number;
    const tol = (4 * s) / Math.sqrt(n) + 0.01 * s;
    assert.ok(Math.abs((got.mean[i] ?? NaN) - m) < tol, `${label} mean[${i}] ${got.mean[i]} vs ${m} (tol ${tol})`);
    const vtol = 4 * Math.sqrt(2 / n) + discretisation;
    assert.ok(Math.abs((got.varRatio[i] ?? NaN) - 1) < vtol, `${label} var/s²[${i}] ${got.varRatio[i]} (tol ${vtol})`);
  });
};

test('samplers on Gaussian data with the exact ε model', async (t) => {
  await selectBackend('wasm');
  const leading0: SpacingOptions = { spacing: 'leading', stepsOffset: 0 };

  await t.test('DDIM converges to the probability-flow ODE map', async () => {
    const coarse = await affineError(ddimSample, 50, SD_DDIM_SPACING);
    const fine = await affineError(ddimSample, 500, SD_DDIM_SPACING);
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(fine.slope[i] ?? NaN) < 0.006, `slope error ${fine.slope[i]} at 500 steps`);
      assert.ok(Math.abs(fine.intercept[i] ?? NaN) < 0.002, `intercept error ${fine.intercept[i]} at 500 steps`);
      assert.ok(Math.abs(coarse.slope[i] ?? NaN) > Math.abs(fine.slope[i] ?? NaN), 'error shrinks with more steps');
    }
  });

  await t.test('DPM-Solver++(2M) converges to the same map, and beats DDIM at equal steps', async () => {
    const fine = await affineError(dpmSolverPlusPlus2M, 200, SD_DPM_SPACING);
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(fine.slope[i] ?? NaN) < 0.012, `slope error ${fine.slope[i]} at 200 steps`);
      assert.ok(Math.abs(fine.intercept[i] ?? NaN) < 0.002, `intercept error ${fine.intercept[i]} at 200 steps`);
    }
    const dpm = await affineError(dpmSolverPlusPlus2M, 20, { spacing: 'trailing', stepsOffset: 0 });
    const ddim = await affineError(ddimSample, 20, { spacing: 'trailing', stepsOffset: 0 });
    const worst = (e: { slope: number[] }): number => Math.max(...e.slope.map(Math.abs));
    assert.ok(worst(dpm) < worst(ddim), `dpm++ ${worst(dpm)} vs ddim ${worst(ddim)} at 20 steps`);
  });

  await t.test('DDIM reproduces the data mean and variance', async () => {
    const n = 50000;
    assertMoments('ddim 200', await sampleMoments(ddimSample, 200, SD_DDIM_SPACING, n), n, 0.02);
  });

  await t.test('DPM-Solver++(2M) reproduces the data mean and variance', async () => {
    const n = 50000;
    assertMoments('dpm++ 200', await sampleMoments(dpmSolverPlusPlus2M, 200, SD_DPM_SPACING, n), n, 0.02);
  });

  await t.test('stochastic DDIM (eta = 1) reproduces the data mean and variance', async () => {
    const n = 20000;
    const ddimEta1: Sampler = (options) => ddimSample({ ...options, eta: 1, seed: options.seed ?? 0 });
    assertMoments('ddim eta=1 500', await sampleMoments(ddimEta1, 500, SD_DDIM_SPACING, n), n, 0.03);
  });

  await t.test('ancestral DDPM reproduces the data mean and variance', async () => {
    const n = 20000;
    assertMoments('ddpm 1000', await sampleMoments(ddpmSample as Sampler, 1000, leading0, n), n, 0.03);
  });
});
