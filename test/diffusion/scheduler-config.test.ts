import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fromRoot } from '../helpers/paths.js';
import { BadInputError } from '../../src/errors.js';
import {
  type DenoiserFn,
  type SchedulerConfig,
  ddimSample,
  ddimSettings,
  ddpmSettings,
  dpmSolverPlusPlus2M,
  dpmSolverSettings,
  dpmSolverTimesteps,
  inferenceTimesteps,
  parseSchedulerConfig,
  readSchedulerConfig,
  samplerOfConfig,
  scaledLinearSchedule,
  scheduleFromConfig,
} from '../../src/diffusion/index.js';

interface ConfigGolden {
  config: Record<string, unknown>;
  alphas_cumprod_f32_base64: string;
  timesteps: Record<'ddim' | 'ddpm' | 'dpmsolver', Record<string, number[]>>;
  ddim_loop: Record<string, number[]>;
  dpmsolver_2m_loop: Record<string, number[]>;
}
const golden = JSON.parse(readFileSync(fromRoot('test', 'golden', 'sd', 'schedulers.json'), 'utf8')) as {
  x_T: number[];
  configs: Record<string, ConfigGolden>;
};
const configs = Object.entries(golden.configs);

const float32s = (base64: string): Float32Array => {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};

const maxRelative = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    worst = Math.max(worst, Math.abs((got[i] as number) - w) / Math.max(Math.abs(w), 1e-30));
  }
  return worst;
};

test('the golden configs cover SD 2.1-base, v-prediction, trailing, linear and squaredcos_cap_v2', () => {
  assert.deepEqual(Object.keys(golden.configs), ['sd21-base', 'sd21-768-v', 'trailing', 'linear-ddpm', 'cosine-ddim']);
});

test("each config's alphas_cumprod is within 1e-6 relative of diffusers' float32 values", () => {
  for (const [name, g] of configs) {
    const schedule = scheduleFromConfig(parseSchedulerConfig(g.config));
    const worst = maxRelative(schedule.alphasCumprod, float32s(g.alphas_cumprod_f32_base64));
    assert.ok(worst < 1e-6, `${name}: max relative difference ${worst}`);
  }
});

test("SD 2.1-base's config gives the engine's default schedule bit for bit", () => {
  const fromConfig = scheduleFromConfig(parseSchedulerConfig(golden.configs['sd21-base']?.config));
  assert.deepEqual(fromConfig.alphasCumprod, scaledLinearSchedule().alphasCumprod);
});

test("set_timesteps(n) of DDIM, DDPM and DPMSolverMultistep (from_config) equal diffusers' for n in 1, 4, 25, 50", () => {
  for (const [name, g] of configs) {
    const config = parseSchedulerConfig(g.config);
    const T = scheduleFromConfig(config).numTrainTimesteps;
    for (const [n, want] of Object.entries(g.timesteps.ddim)) assert.deepEqual(inferenceTimesteps(T, Number(n), ddimSettings(config).spacing), want, `${name} ddim ${n}`);
    for (const [n, want] of Object.entries(g.timesteps.ddpm)) assert.deepEqual(inferenceTimesteps(T, Number(n), ddpmSettings(config).spacing), want, `${name} ddpm ${n}`);
    for (const [n, want] of Object.entries(g.timesteps.dpmsolver)) {
      assert.deepEqual(dpmSolverTimesteps(T, Number(n), dpmSolverSettings(config).spacing), want, `${name} dpmsolver ${n}`);
    }
  }
});

// the goldens' dummy network: output = 0.1 x + 0.05 (ε, v or x0 as the config says)
const dummy: DenoiserFn<null> = (x) => tf.tidy(() => tf.add(tf.mul(x, 0.1), 0.05));

test("DDIM (eta 0) and DPM-Solver++(2M) loops equal diffusers' on the dummy model (1e-5)", () => {
  const xT = tf.tensor(golden.x_T);
  for (const [name, g] of configs) {
    const config = parseSchedulerConfig(g.config);
    for (const [n, want] of Object.entries(g.ddim_loop)) {
      const out = ddimSample({ model: dummy, cond: null, steps: Number(n), xT, ...ddimSettings(config) });
      const worst = maxRelative(out.dataSync(), want);
      out.dispose();
      assert.ok(worst < 1e-5, `${name} ddim ${n}: ${worst}`);
    }
    for (const [n, want] of Object.entries(g.dpmsolver_2m_loop)) {
      const out = dpmSolverPlusPlus2M({ model: dummy, cond: null, steps: Number(n), xT, ...dpmSolverSettings(config) });
      const worst = maxRelative(out.dataSync(), want);
      out.dispose();
      assert.ok(worst < 1e-5, `${name} dpm-solver++ ${n}: ${worst}`);
    }
  }
  xT.dispose();
});

test('per-sampler defaults follow the target class: DDIM clips and sets ᾱ_prev = 1 unless told, DPM-Solver spaces linspace', () => {
  const bare = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
  assert.deepEqual([ddimSettings(bare).clipSample, ddimSettings(bare).setAlphaToOne, ddimSettings(bare).spacing.spacing], [1, true, 'leading']);
  assert.equal(dpmSolverSettings(bare).spacing.spacing, 'linspace');
  const sd = parseSchedulerConfig(golden.configs['sd21-base']?.config);
  assert.deepEqual([ddimSettings(sd).clipSample, ddimSettings(sd).setAlphaToOne, ddimSettings(sd).spacing], [undefined, false, { spacing: 'leading', stepsOffset: 1 }]);
  assert.equal(samplerOfConfig(sd), undefined, 'PNDM has no engine sampler');
  assert.equal(samplerOfConfig(parseSchedulerConfig({ _class_name: 'DPMSolverMultistepScheduler' })), 'dpm-solver++2m');
  const trained = scheduleFromConfig(parseSchedulerConfig({ trained_betas: [0.1, 0.2, 0.5] }));
  [0.9, 0.72, 0.36].forEach((want, i) => assert.ok(Math.abs((trained.alphasCumprod[i] as number) - want) < 1e-7, `ᾱ_${i}`));
});

const refused = (config: SchedulerConfig | Record<string, unknown>, key: string, pick: (c: SchedulerConfig) => unknown = (c) => c): void => {
  assert.throws(
    () => pick(parseSchedulerConfig(config)),
    (err: unknown) => err instanceof BadInputError && err.code === 'SCHEDULER_CONFIG' && err.message.startsWith(`scheduler/scheduler_config.json  ${key}  `),
    key,
  );
};

test('unsupported keys are bad input naming scheduler/scheduler_config.json and the key', () => {
  refused({ thresholding: true }, 'thresholding');
  refused({ rescale_betas_zero_snr: true }, 'rescale_betas_zero_snr');
  refused({ beta_schedule: 'sigmoid' }, 'beta_schedule');
  refused({ prediction_type: 'flow' }, 'prediction_type');
  refused({ timestep_spacing: 'karras' }, 'timestep_spacing');
  refused({ beta_start: 0.02, beta_end: 0.001 }, 'beta_end');
  refused({ variance_type: 'learned_range' }, 'variance_type', ddpmSettings);
  refused({ algorithm_type: 'sde-dpmsolver++' }, 'algorithm_type', dpmSolverSettings);
  refused({ solver_order: 3 }, 'solver_order', dpmSolverSettings);
  refused({ solver_type: 'heun' }, 'solver_type', dpmSolverSettings);
  refused({ use_karras_sigmas: true }, 'use_karras_sigmas', dpmSolverSettings);
  refused({ final_sigmas_type: 'sigma_min' }, 'final_sigmas_type', dpmSolverSettings);
  refused({ lambda_min_clipped: -5.1 }, 'lambda_min_clipped', dpmSolverSettings);
  refused({ variance_type: 'learned_range' }, 'variance_type', dpmSolverSettings);
});

test("a file as python writes it (-Infinity) reads; the file's path names the errors", () => {
  const dir = mkdtempSync(join(tmpdir(), 'scheduler-config-'));
  try {
    const path = join(dir, 'scheduler_config.json');
    writeFileSync(path, '{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "beta_schedule": "scaled_linear"}');
    assert.equal(readSchedulerConfig(path).lambda_min_clipped, -Infinity);
    assert.equal(dpmSolverSettings(readSchedulerConfig(path)).spacing.spacing, 'linspace');
    writeFileSync(path, '{"thresholding": true}');
    assert.throws(() => readSchedulerConfig(path), (err: unknown) => err instanceof BadInputError && err.message.startsWith(`${path}  thresholding  `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
