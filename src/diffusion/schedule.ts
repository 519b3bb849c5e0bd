import { BadInputError } from '../errors.js';

/** Stable Diffusion's training noise schedule ("scaled_linear" in diffusers) */
export interface NoiseSchedule {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betas: Float64Array;
  /** ᾱ_t = Π_{s≤t}(1−β_s), accumulated in float64 */
  alphasCumprod64: Float64Array;
  /** the same rounded to float32: the values used everywhere (diffusers stores float32) */
  alphasCumprod: Float32Array;
}

export interface ScheduleOptions {
  numTrainTimesteps?: number;
  betaStart?: number;
  betaEnd?: number;
}

/** β linear in sqrt-space from √0.00085 to √0.012 over 1000 steps, as SD 1.x/2.x were trained */
export const scaledLinearSchedule = (options: ScheduleOptions = {}): NoiseSchedule => {
  const numTrainTimesteps = options.numTrainTimesteps ?? 1000;
  const betaStart = options.betaStart ?? 0.00085;
  const betaEnd = options.betaEnd ?? 0.012;
  if (!Number.isInteger(numTrainTimesteps) || numTrainTimesteps < 2) {
    throw new BadInputError('SCHEDULE_TIMESTEPS', `numTrainTimesteps must be an integer ≥ 2, got ${numTrainTimesteps}`);
  }
  if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd)) {
    throw new BadInputError('SCHEDULE_BETAS', `need 0 < betaStart ≤ betaEnd < 1, got ${betaStart}, ${betaEnd}`);
  }
  const lo = Math.sqrt(betaStart);
  const hi = Math.sqrt(betaEnd);
  const betas = new Float64Array(numTrainTimesteps);
  const alphasCumprod64 = new Float64Array(numTrainTimesteps);
  let cumprod = 1;
  for (let i = 0; i < numTrainTimesteps; i++) {
    const root = lo + ((hi - lo) * i) / (numTrainTimesteps - 1);
    betas[i] = root * root;
    cumprod *= 1 - root * root;
    alphasCumprod64[i] = cumprod;
  }
  return { numTrainTimesteps, betaStart, betaEnd, betas, alphasCumprod64, alphasCumprod: Float32Array.from(alphasCumprod64) };
};

export const checkTimestep = (schedule: NoiseSchedule, t: number): void => {
  if (!Number.isInteger(t) || t < 0 || t >= schedule.numTrainTimesteps) {
    throw new BadInputError('TIMESTEP_RANGE', `timestep ${t} is outside [0, ${schedule.numTrainTimesteps - 1}]`);
  }
};

/** ᾱ_t (float32 value, as a JS number) */
export const alphaBar = (schedule: NoiseSchedule, t: number): number => {
  checkTimestep(schedule, t);
  return schedule.alphasCumprod[t] as number;
};

/** α_t = √ᾱ_t and σ_t = √(1−ᾱ_t) in the notation x_t = α_t x0 + σ_t ε */
export const alphaSigma = (schedule: NoiseSchedule, t: number): { alpha: number; sigma: number } => {
  const abar = alphaBar(schedule, t);
  return { alpha: Math.sqrt(abar), sigma: Math.sqrt(1 - abar) };
};
