import * as tf from '@tensorflow/tfjs';
import { type AsyncSamplerOptions, type SamplerOptions, type SamplerPlan, type SamplerSteps, advance, alphaBarOrFinal, clipped, epsAndX0, runSampler, runSamplerAsync, stepNoise } from './common.js';
import { SD_DDIM_SPACING, inferenceTimesteps } from '../timesteps.js';

export interface DdimSettings extends SamplerPlan {
  /** 0 = deterministic DDIM (default); 1 = DDPM-like variance */
  eta?: number;
  /** ᾱ used past the last step: 1 if true, else ᾱ_0 (SD: false) */
  setAlphaToOne?: boolean;
  /** noise seed, needed only when eta > 0 */
  seed?: number;
  /** clamp x0̂ to [−r, r] (diffusers' clip_sample with clip_sample_range r; ε̂ stays the model's); SD: off */
  clipSample?: number;
}

export interface DdimOptions<C> extends DdimSettings, SamplerOptions<C> {}

/**
 * DDIM (Song et al. 2021) as diffusers' DDIMScheduler.step computes it: prev_t = t − T/N (floored),
 * x0 = (x − √(1−ᾱ_t) ε)/√ᾱ_t, x_prev = √ᾱ_prev x0 + √(1−ᾱ_prev − σ²) ε + σ z; no clipping unless clipSample
 * (SD's clip_sample is false).
 */
export function* ddimSteps(options: DdimSettings): SamplerSteps {
  const { schedule, steps } = options;
  const T = schedule.numTrainTimesteps;
  const timesteps = inferenceTimesteps(T, steps, options.spacing ?? SD_DDIM_SPACING);
  const ratio = Math.floor(T / steps);
  const final = options.setAlphaToOne === true ? 1 : (schedule.alphasCumprod[0] as number);
  const eta = options.eta ?? 0;
  let x = options.xT;
  for (const [i, t] of timesteps.entries()) {
    const out = yield { x, t };
    x = advance(x, options.xT, () => {
      const abar = schedule.alphasCumprod[t] as number;
      const abarPrev = alphaBarOrFinal(schedule, t - ratio, final);
      const { eps, x0: predicted } = epsAndX0(options, x, out, t);
      const x0 = clipped(predicted, options.clipSample);
      const variance = ((1 - abarPrev) / (1 - abar)) * (1 - abar / abarPrev);
      const sigma = eta * Math.sqrt(variance);
      const direction = tf.mul(Math.sqrt(1 - abarPrev - sigma * sigma), eps);
      const mean = tf.add(tf.mul(Math.sqrt(abarPrev), x0), direction);
      return sigma > 0 ? tf.add(mean, tf.mul(sigma, stepNoise(x.shape, options.seed ?? 0, i))) : mean;
    });
    out.dispose();
    options.onStep?.(i, t);
  }
  return x === options.xT ? x.clone() : x;
}

export const ddimSample = <C>(options: DdimOptions<C>): tf.Tensor => runSampler(ddimSteps(options), options.model, options.cond);

export const ddimSampleAsync = <C>(options: DdimSettings & AsyncSamplerOptions<C>): Promise<tf.Tensor> => runSamplerAsync(ddimSteps(options), options.model, options.cond);
