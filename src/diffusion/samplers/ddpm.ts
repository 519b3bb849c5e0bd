import * as tf from '@tensorflow/tfjs';
import { type AsyncSamplerOptions, type SamplerOptions, type SamplerPlan, type SamplerSteps, advance, alphaBarOrFinal, clipped, epsAndX0, runSampler, runSamplerAsync, stepNoise } from './common.js';
import { SD_DDIM_SPACING, inferenceTimesteps } from '../timesteps.js';

export interface DdpmSettings extends SamplerPlan {
  /** seed of the per-step noise */
  seed: number;
  /** clamp x0̂ to [−r, r] (diffusers' clip_sample with clip_sample_range r); SD: off */
  clipSample?: number;
}

export interface DdpmOptions<C> extends DdpmSettings, SamplerOptions<C> {}

/**
 * ancestral DDPM (Ho et al. 2020) as diffusers' DDPMScheduler.step: the posterior mean of q(x_prev | x_t, x0̂)
 * plus 'fixed_small' noise √β̃ z, β̃ = (1−ᾱ_prev)/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_prev); no noise on the last step.
 */
export function* ddpmSteps(options: DdpmSettings): SamplerSteps {
  const { schedule, steps } = options;
  const T = schedule.numTrainTimesteps;
  const timesteps = inferenceTimesteps(T, steps, options.spacing ?? SD_DDIM_SPACING);
  const ratio = Math.floor(T / steps);
  let x = options.xT;
  for (const [i, t] of timesteps.entries()) {
    const out = yield { x, t };
    x = advance(x, options.xT, () => {
      const abar = schedule.alphasCumprod[t] as number;
      const abarPrev = alphaBarOrFinal(schedule, t - ratio, 1);
      const alphaStep = abar / abarPrev;
      const betaStep = 1 - alphaStep;
      const x0 = clipped(epsAndX0(options, x, out, t).x0, options.clipSample);
      const x0Coef = (Math.sqrt(abarPrev) * betaStep) / (1 - abar);
      const xCoef = (Math.sqrt(alphaStep) * (1 - abarPrev)) / (1 - abar);
      const mean = tf.add(tf.mul(x0Coef, x0), tf.mul(xCoef, x));
      if (t === 0 || i === timesteps.length - 1) return mean;
      const variance = Math.max((betaStep * (1 - abarPrev)) / (1 - abar), 1e-20);
      return tf.add(mean, tf.mul(Math.sqrt(variance), stepNoise(x.shape, options.seed, i)));
    });
    out.dispose();
    options.onStep?.(i, t);
  }
  return x === options.xT ? x.clone() : x;
}

export const ddpmSample = <C>(options: DdpmOptions<C>): tf.Tensor => runSampler(ddpmSteps(options), options.model, options.cond);

export const ddpmSampleAsync = <C>(options: DdpmSettings & AsyncSamplerOptions<C>): Promise<tf.Tensor> => runSamplerAsync(ddpmSteps(options), options.model, options.cond);
