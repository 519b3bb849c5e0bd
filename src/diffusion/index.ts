// diffusion core: SD's scaled-linear schedule (and diffusers' linear / squaredcos_cap_v2 / trained betas, read
// from a scheduler_config.json) (ᾱ accumulated in float64, used as float32 like CompVis'
// training code; within 1e-6 relative of diffusers' float32 values), ε/x0/v conversions, DDPM / DDIM /
// DPM-Solver++(2M) samplers that match diffusers' schedulers (SD 2.1-base config: leading spacing,
// steps_offset 1, set_alpha_to_one false, clip_sample false; DPM-Solver uses its own 'linspace' default),
// classifier-free guidance, and a small text-conditioned UNet (its layers and LoRA are in src/nn).
export { scaledLinearSchedule, linearSchedule, squaredCosineSchedule, scheduleFromBetas, alphaBar, alphaSigma, checkTimestep } from './schedule.js';
export type { NoiseSchedule, ScheduleOptions } from './schedule.js';
export { inferenceTimesteps, dpmSolverTimesteps, SD_DDIM_SPACING, SD_DPM_SPACING } from './timesteps.js';
export type { TimestepSpacing, SpacingOptions } from './timesteps.js';
export {
  SCHEDULER_CONFIG_FILE,
  schedulerConfigSchema,
  parseSchedulerConfig,
  readSchedulerConfig,
  samplerOfConfig,
  scheduleFromConfig,
  ddimSettings,
  ddpmSettings,
  dpmSolverSettings,
} from './scheduler-config.js';
export type { SchedulerConfig, SamplerName, SchedulerSettings } from './scheduler-config.js';
export {
  addNoise,
  velocity,
  coefficients,
  epsToX0,
  x0ToEps,
  vToX0,
  vToEps,
  epsToV,
  x0ToV,
  toEpsAndX0,
} from './parameterization.js';
export type { PredictionType, Timesteps } from './parameterization.js';
export type { DenoiserFn, AsyncDenoiserFn } from './denoiser.js';
export { classifierFreeGuidance, guided, guidedAsync } from './guidance.js';
export type { GuidanceOptions } from './guidance.js';
export type { SamplerOptions, AsyncSamplerOptions, SamplerPlan, SamplerSteps, ModelCall } from './samplers/common.js';
export { runSampler, runSamplerAsync } from './samplers/common.js';
export { ddimSample, ddimSampleAsync, ddimSteps } from './samplers/ddim.js';
export type { DdimOptions, DdimSettings } from './samplers/ddim.js';
export { ddpmSample, ddpmSampleAsync, ddpmSteps } from './samplers/ddpm.js';
export type { DdpmOptions, DdpmSettings } from './samplers/ddpm.js';
export { dpmSolverPlusPlus2M, dpmSolverPlusPlus2MAsync, dpmSolverPlusPlus2MSteps } from './samplers/dpm-solver.js';
export { initUNet, unetForward, unetDenoiser, parameterCount, disposeParams, validateUNetConfig, levelChannels } from './unet/index.js';
export type { UNet, UNetConfig } from './unet/index.js';
