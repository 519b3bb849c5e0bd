// diffusers' scheduler/scheduler_config.json → the engine's noise schedule and sampler options, as diffusers
// v0.27.2 reads it. The class name only suggests a sampler: a pipeline swaps schedulers with
// OtherScheduler.from_config(config), where every key the file lacks takes the *target* class's default (DDIM and
// DDPM: leading spacing, clip_sample on; DPM-Solver: linspace spacing), so options are resolved per sampler.
// Keys that would change the computation in a way the engine does not implement are refused, never ignored.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import type { PredictionType } from './parameterization.js';
import { type NoiseSchedule, linearSchedule, scaledLinearSchedule, scheduleFromBetas, squaredCosineSchedule } from './schedule.js';
import type { SpacingOptions } from './timesteps.js';

export const SCHEDULER_CONFIG_FILE = 'scheduler/scheduler_config.json';

// keys other than these (skip_prk_steps, _diffusers_version, Euler's interpolation_type …) pass: diffusers ignores
// keys a class does not take, and none of them matters to the samplers the engine has
export const schedulerConfigSchema = z.looseObject({
  _class_name: z.string().optional(),
  num_train_timesteps: z.number().int().min(2).optional(),
  beta_start: z.number().positive().lt(1).optional(),
  beta_end: z.number().positive().lt(1).optional(),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).optional(),
  trained_betas: z.array(z.number().gt(0).lt(1)).min(2).nullable().optional(),
  prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).optional(),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  steps_offset: z.number().int().min(0).optional(),
  set_alpha_to_one: z.boolean().optional(),
  clip_sample: z.boolean().optional(),
  clip_sample_range: z.number().positive().optional(),
  thresholding: z.boolean().optional(),
  rescale_betas_zero_snr: z.boolean().optional(),
  variance_type: z.string().nullable().optional(),
  // DPMSolverMultistepScheduler's
  algorithm_type: z.string().optional(),
  solver_order: z.number().int().optional(),
  solver_type: z.string().optional(),
  use_karras_sigmas: z.boolean().nullable().optional(),
  use_lu_lambdas: z.boolean().nullable().optional(),
  final_sigmas_type: z.string().nullable().optional(),
  lambda_min_clipped: z.union([z.number(), z.literal(-Infinity)]).nullable().optional(),
});

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;

/** the engine's samplers, and the diffusers classes whose step they reproduce */
export type SamplerName = 'ddim' | 'ddpm' | 'dpm-solver++2m';
const SAMPLER_OF_CLASS: Record<string, SamplerName> = {
  DDIMScheduler: 'ddim',
  DDPMScheduler: 'ddpm',
  DPMSolverMultistepScheduler: 'dpm-solver++2m',
};

const refuse = (file: string, key: string, message: string): BadInputError =>
  new BadInputError('SCHEDULER_CONFIG', `${file}  ${key}  ${message}`, 'edit the key, or choose another scheduler folder');

/** validates a parsed scheduler_config.json and refuses what changes every sampler's numbers */
export const parseSchedulerConfig = (json: unknown, file = SCHEDULER_CONFIG_FILE): SchedulerConfig => {
  const parsed = schedulerConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw refuse(file, issue?.path.map(String).join('.') || '(root)', issue?.message ?? 'invalid');
  }
  const config = parsed.data;
  if (config.thresholding === true) throw refuse(file, 'thresholding', 'dynamic thresholding is not supported');
  if (config.rescale_betas_zero_snr === true) throw refuse(file, 'rescale_betas_zero_snr', 'zero-terminal-SNR rescaling is not supported');
  const { beta_start: start, beta_end: end } = config;
  if (start !== undefined && end !== undefined && start > end) throw refuse(file, 'beta_end', `is below beta_start (${end} < ${start})`);
  return config;
};

// python's json writes ±inf and nan bare (DPM-Solver's lambda_min_clipped is -Infinity); 1e999 parses as infinity
const pythonJson = (text: string): unknown =>
  JSON.parse(text.replace(/([:[,]\s*)(-?)Infinity(?=\s*[,\]}])/g, '$1$21e999').replace(/([:[,]\s*)NaN(?=\s*[,\]}])/g, '$1null'));

/** reads and validates a scheduler_config.json file */
export const readSchedulerConfig = (path: string): SchedulerConfig => {
  let json: unknown;
  try {
    json = pythonJson(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new BadInputError('SCHEDULER_CONFIG_UNREADABLE', `${path}: cannot read the scheduler config (${(err as Error).message})`);
  }
  return parseSchedulerConfig(json, path);
};

/** the sampler the config's class names, if the engine has it (PNDM, Euler … have none: the caller chooses) */
export const samplerOfConfig = (config: SchedulerConfig): SamplerName | undefined =>
  config._class_name === undefined ? undefined : SAMPLER_OF_CLASS[config._class_name];

/**
 * the training noise schedule: trained_betas if given, else beta_schedule over num_train_timesteps (diffusers'
 * defaults: linear, 1e-4 … 0.02, 1000). scaled_linear is scaledLinearSchedule, so SD's config gives the engine's
 * default schedule bit for bit. diffusers builds β in float32 and multiplies float32 (1 − β); the engine
 * accumulates in float64 and rounds ᾱ to float32, within 1e-6 relative of diffusers' values.
 */
export const scheduleFromConfig = (config: SchedulerConfig): NoiseSchedule => {
  if (config.trained_betas !== undefined && config.trained_betas !== null) return scheduleFromBetas(config.trained_betas);
  const options = {
    numTrainTimesteps: config.num_train_timesteps ?? 1000,
    betaStart: config.beta_start ?? 0.0001,
    betaEnd: config.beta_end ?? 0.02,
  };
  switch (config.beta_schedule ?? 'linear') {
    case 'linear':
      return linearSchedule(options);
    case 'scaled_linear':
      return scaledLinearSchedule(options);
    case 'squaredcos_cap_v2':
      return squaredCosineSchedule(options.numTrainTimesteps);
  }
};

/** what every sampler takes from the config */
export interface SchedulerSettings {
  schedule: NoiseSchedule;
  prediction: PredictionType;
  spacing: SpacingOptions;
}

const settings = (config: SchedulerConfig, defaultSpacing: SpacingOptions['spacing']): SchedulerSettings => ({
  schedule: scheduleFromConfig(config),
  prediction: config.prediction_type ?? 'epsilon',
  spacing: { spacing: config.timestep_spacing ?? defaultSpacing, stepsOffset: config.steps_offset ?? 0 },
});

const clipRange = (config: SchedulerConfig): number | undefined => ((config.clip_sample ?? true) ? (config.clip_sample_range ?? 1) : undefined);

/** DDIMScheduler.from_config(config): options for ddimSample (eta is the pipeline's argument, not the config's) */
export const ddimSettings = (config: SchedulerConfig): SchedulerSettings & { setAlphaToOne: boolean; clipSample: number | undefined } => ({
  ...settings(config, 'leading'),
  setAlphaToOne: config.set_alpha_to_one ?? true,
  clipSample: clipRange(config),
});

/** DDPMScheduler.from_config(config): options for ddpmSample; only the 'fixed_small' variance is implemented */
export const ddpmSettings = (config: SchedulerConfig, file = SCHEDULER_CONFIG_FILE): SchedulerSettings & { clipSample: number | undefined } => {
  const variance = config.variance_type ?? 'fixed_small';
  if (variance !== 'fixed_small') throw refuse(file, 'variance_type', `'${variance}' is not supported for DDPM (only 'fixed_small')`);
  return { ...settings(config, 'leading'), clipSample: clipRange(config) };
};

/**
 * DPMSolverMultistepScheduler.from_config(config): options for dpmSolverPlusPlus2M, which is diffusers' default
 * DPM-Solver (dpmsolver++, order 2, midpoint, final σ = 0); keys that pick another solver or grid are refused.
 * lower_order_final and euler_at_final change nothing at order 2 with final σ = 0 (the last step is first order).
 */
export const dpmSolverSettings = (config: SchedulerConfig, file = SCHEDULER_CONFIG_FILE): SchedulerSettings => {
  const check = (key: keyof SchedulerConfig, ok: boolean, message: string): void => {
    if (!ok) throw refuse(file, key, message);
  };
  check('algorithm_type', (config.algorithm_type ?? 'dpmsolver++') === 'dpmsolver++', `'${config.algorithm_type}' is not supported (only 'dpmsolver++')`);
  check('solver_order', (config.solver_order ?? 2) === 2, `${config.solver_order} is not supported (only 2)`);
  check('solver_type', (config.solver_type ?? 'midpoint') === 'midpoint', `'${config.solver_type}' is not supported (only 'midpoint')`);
  check('use_karras_sigmas', config.use_karras_sigmas !== true, 'Karras sigmas are not supported');
  check('use_lu_lambdas', config.use_lu_lambdas !== true, 'Lu lambdas are not supported');
  check('final_sigmas_type', (config.final_sigmas_type ?? 'zero') === 'zero', `'${config.final_sigmas_type}' is not supported (only 'zero')`);
  check('lambda_min_clipped', config.lambda_min_clipped === undefined || config.lambda_min_clipped === null || config.lambda_min_clipped === -Infinity, 'clipping λ is not supported');
  // DPM-Solver reads variance_type only to drop a learned variance's channels (a DDPM config's 'fixed_small' is inert)
  check('variance_type', !['learned', 'learned_range'].includes(config.variance_type ?? ''), `'${config.variance_type}' (a learned variance) is not supported`);
  return settings(config, 'linspace');
};
