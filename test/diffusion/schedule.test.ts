import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { fromRoot } from '../helpers/paths.js';
import {
  scaledLinearSchedule,
  inferenceTimesteps,
  dpmSolverTimesteps,
  SD_DDIM_SPACING,
  SD_DPM_SPACING,
  ddimSample,
  dpmSolverPlusPlus2M,
  type DenoiserFn,
} from '../../src/diffusion/index.js';

interface Golden {
  alphas_cumprod_float32: number[];
  alphas_cumprod_float64: number[];
  timesteps: Record<string, Record<string, number[]>>;
  gaussian_model: { m: number; s: number; x_T: number[] };
  ddim_leading_offset1: Record<string, number[]>;
  dpmpp_2m_linspace: Record<string, number[]>;
}

const golden = JSON.parse(readFileSync(fromRoot('test', 'golden', 'diffusion', 'schedule.json'), 'utf8')) as Golden;
const schedule = scaledLinearSchedule();

test('alphas_cumprod: float64 accumulation equals the float64 reference, float32 copy within 1e-6 of diffusers', () => {
  assert.equal(schedule.alphasCumprod.length, 1000);
  golden.alphas_cumprod_float64.forEach((want, t) => {
    assert.ok(Math.abs((schedule.alphasCumprod64[t] as number) - want) <= 1e-12 * want, `t=${t}`);
  });
  let worst = 0;
  golden.alphas_cumprod_float32.forEach((want, t) => {
    worst = Math.max(worst, Math.abs((schedule.alphasCumprod[t] as number) - want) / want);
  });
  // diffusers squares float32 betas; the rounding differs by a few ulp at most
  assert.ok(worst < 1e-6, `max relative difference to diffusers' float32 schedule ${worst}`);
  // the value SwiftBrush hard-codes as 0.0047
  assert.ok(Math.abs((schedule.alphasCumprod[999] as number) - 0.00466) < 1e-5);
  assert.ok(Math.abs((schedule.alphasCumprod[0] as number) - (1 - 0.00085)) < 1e-7);
});

test('inference timesteps match diffusers set_timesteps for every spacing', () => {
  const check = (key: string, make: (n: number) => number[]): void => {
    for (const [n, want] of Object.entries(golden.timesteps[key] ?? {})) assert.deepEqual(make(Number(n)), want, `${key} ${n}`);
  };
  check('leading_offset1', (n) => inferenceTimesteps(1000, n, SD_DDIM_SPACING));
  check('leading_offset0', (n) => inferenceTimesteps(1000, n, { spacing: 'leading', stepsOffset: 0 }));
  check('trailing', (n) => inferenceTimesteps(1000, n, { spacing: 'trailing', stepsOffset: 0 }));
  check('linspace', (n) => inferenceTimesteps(1000, n, { spacing: 'linspace', stepsOffset: 0 }));
  check('dpm_linspace', (n) => dpmSolverTimesteps(1000, n, SD_DPM_SPACING));
  check('dpm_leading_offset1', (n) => dpmSolverTimesteps(1000, n, SD_DDIM_SPACING));
  assert.equal(inferenceTimesteps(1000, 50, SD_DDIM_SPACING)[0], 981);
  assert.throws(() => inferenceTimesteps(1000, 1000, SD_DDIM_SPACING), /reach timestep 1000/);
  assert.throws(() => inferenceTimesteps(1000, 0, SD_DDIM_SPACING), /sampling steps/);
});

// the Gaussian-data ε model in closed form, the same one the golden script uses
const gaussianEps = (m: number, s: number): DenoiserFn<null> => (xt, t) =>
  tf.tidy(() => {
    if (typeof t !== 'number') throw new Error('scalar t expected');
    const a = schedule.alphasCumprod[t] as number;
    return tf.mul(tf.sub(xt, Math.sqrt(a) * m), Math.sqrt(1 - a) / (a * s * s + 1 - a));
  });

test('DDIM and DPM-Solver++(2M) trajectories match the re-implemented diffusers step formulas', async () => {
  await tf.setBackend('cpu');
  const { m, s, x_T } = golden.gaussian_model;
  const xT = tf.tensor1d(x_T);
  const tensorsBefore = tf.memory().numTensors;
  const close = (got: Float32Array | Int32Array | Uint8Array, want: number[], label: string): void =>
    want.forEach((w, i) => assert.ok(Math.abs((got[i] ?? NaN) - w) < 2e-5 * Math.max(1, Math.abs(w)), `${label}[${i}]: ${got[i]} vs ${w}`));
  for (const [n, want] of Object.entries(golden.ddim_leading_offset1)) {
    const out = ddimSample({ model: gaussianEps(m, s), cond: null, schedule, steps: Number(n), xT });
    close(await out.data(), want, `ddim ${n}`);
    out.dispose();
  }
  for (const [n, want] of Object.entries(golden.dpmpp_2m_linspace)) {
    const out = dpmSolverPlusPlus2M({ model: gaussianEps(m, s), cond: null, schedule, steps: Number(n), xT });
    close(await out.data(), want, `dpm++ ${n}`);
    out.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, 'samplers leak no tensors');
  xT.dispose();
});
