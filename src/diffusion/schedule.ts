import { BadInputError } from '../errors.js';

/** a discrete training noise schedule (SD's is "scaled_linear" in diffusers) */
export interface NoiseSchedule {
  numTrainTimesteps: number;
  /** β_0 and β_{T−1} (the configured ends for the linear schedules) */
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

const checkTimesteps = (numTrainTimesteps: number): void => {
  if (!Number.isInteger(numTrainTimesteps) || numTrainTimesteps < 2) {
    throw new BadInputError('SCHEDULE_TIMESTEPS', `numTrainTimesteps must be an integer ≥ 2, got ${numTrainTimesteps}`);
  }
};

/**
 * any β sequence (diffusers' trained_betas, linear, squaredcos_cap_v2) the way diffusers stores it: β and 1 − β
 * rounded to float32, the product accumulated in float64 (torch's CPU cumprod) and rounded. The float32 1 − β
 * matters: squaredcos_cap_v2's last β is capped at 0.999, and float32 1 − 0.999 is 1.3e-5 relative off 0.001.
 * (scaledLinearSchedule predates this and stays all-float64 until ᾱ, within 1e-6 of diffusers.)
 */
export const scheduleFromBetas = (betas: ArrayLike<number>): NoiseSchedule => {
  const numTrainTimesteps = betas.length;
  checkTimesteps(numTrainTimesteps);
  const b = Float64Array.from(betas, (beta) => Math.fround(beta));
  const bad = b.findIndex((beta) => !(beta > 0 && beta < 1));
  if (bad >= 0) throw new BadInputError('SCHEDULE_BETAS', `β_${bad} = ${b[bad]} is outside (0, 1)`);
  const alphasCumprod64 = new Float64Array(numTrainTimesteps);
  let cumprod = 1;
  b.forEach((beta, i) => {
    cumprod *= Math.fround(1 - beta);
    alphasCumprod64[i] = cumprod;
  });
  return {
    numTrainTimesteps,
    betaStart: b[0] as number,
    betaEnd: b[numTrainTimesteps - 1] as number,
    betas: b,
    alphasCumprod64,
    alphasCumprod: Float32Array.from(alphasCumprod64),
  };
};

/** diffusers' "linear": β evenly spaced from betaStart to betaEnd (DDPM's 1e-4 … 0.02) */
export const linearSchedule = (options: ScheduleOptions = {}): NoiseSchedule => {
  const numTrainTimesteps = options.numTrainTimesteps ?? 1000;
  const betaStart = options.betaStart ?? 0.0001;
  const betaEnd = options.betaEnd ?? 0.02;
  checkTimesteps(numTrainTimesteps);
  if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd)) {
    throw new BadInputError('SCHEDULE_BETAS', `need 0 < betaStart ≤ betaEnd < 1, got ${betaStart}, ${betaEnd}`);
  }
  const betas = Array.from({ length: numTrainTimesteps }, (_, i) => betaStart + ((betaEnd - betaStart) * i) / (numTrainTimesteps - 1));
  return { ...scheduleFromBetas(betas), betaStart, betaEnd };
};

/**
 * diffusers' "squaredcos_cap_v2" (Nichol & Dhariwal's cosine schedule): β_i = min(1 − ᾱ(t_{i+1})/ᾱ(t_i), 0.999) with
 * ᾱ(t) = cos²((t + 0.008)/1.008 · π/2) at t = i/T, computed in float64 as diffusers' betas_for_alpha_bar
 */
export const squaredCosineSchedule = (numTrainTimesteps = 1000): NoiseSchedule => {
  checkTimesteps(numTrainTimesteps);
  const alphaBarFn = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = Array.from({ length: numTrainTimesteps }, (_, i) =>
    Math.min(1 - alphaBarFn((i + 1) / numTrainTimesteps) / alphaBarFn(i / numTrainTimesteps), 0.999),
  );
  return scheduleFromBetas(betas);
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
