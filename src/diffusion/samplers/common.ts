import * as tf from '@tensorflow/tfjs';
import type { DenoiserFn } from '../denoiser.js';
import type { NoiseSchedule } from '../schedule.js';
import { type PredictionType, toEpsAndX0 } from '../parameterization.js';
import type { SpacingOptions } from '../timesteps.js';

export interface SamplerOptions<C> {
  model: DenoiserFn<C>;
  cond: C;
  schedule: NoiseSchedule;
  /** number of model evaluations */
  steps: number;
  /** the starting noise x_T (not disposed by the sampler) */
  xT: tf.Tensor;
  /** what the model outputs (default ε) */
  prediction?: PredictionType;
  spacing?: SpacingOptions;
  /** called after each step with its index and timestep (progress bars) */
  onStep?: (index: number, t: number) => void;
}

/** evaluates the model at (x, t) and returns ε and x0 whatever its prediction type */
export const predict = <C>(options: SamplerOptions<C>, x: tf.Tensor, t: number): { eps: tf.Tensor; x0: tf.Tensor } =>
  tf.tidy(() => {
    const out = options.model(x, t, options.cond);
    return toEpsAndX0(options.schedule, options.prediction ?? 'epsilon', x, out, t);
  });

/** x clamped to [−range, range], or x itself when range is undefined (no clipping) */
export const clipped = (x: tf.Tensor, range: number | undefined): tf.Tensor => (range === undefined ? x : tf.clipByValue(x, -range, range));

/** runs one step that yields the next x, disposing the previous one unless it is the caller's x_T */
export const advance = (current: tf.Tensor, xT: tf.Tensor, step: () => tf.Tensor): tf.Tensor => {
  const next = tf.tidy(step);
  if (current !== xT) current.dispose();
  return next;
};

/** seeded standard normal noise for step `index` (tfjs' seeded generator is the same on every backend) */
export const stepNoise = (shape: number[], seed: number, index: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed * 100003 + index);

/** ᾱ at a timestep, with diffusers' convention for the step past t = 0 */
export const alphaBarOrFinal = (schedule: NoiseSchedule, t: number, final: number): number => (t >= 0 ? (schedule.alphasCumprod[t] as number) : final);
