// A sampler is written once, as a generator of model calls: it yields (x, t), receives the model's output, and
// returns the final x. runSampler feeds it a synchronous model (the trainer's tfjs networks), runSamplerAsync an
// asynchronous one (ONNX Runtime); both give the same tensors, since the step math is the generator's alone.
import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../../tensor/random-normal.js';
import type { AsyncDenoiserFn, DenoiserFn } from '../denoiser.js';
import type { NoiseSchedule } from '../schedule.js';
import { type PredictionType, toEpsAndX0 } from '../parameterization.js';
import type { SpacingOptions } from '../timesteps.js';
import { tfjsRandomSeed } from '../../data/streams.js';

/** everything a sampler needs but the model */
export interface SamplerPlan {
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

export interface SamplerOptions<C> extends SamplerPlan {
  model: DenoiserFn<C>;
  cond: C;
}

export interface AsyncSamplerOptions<C> extends SamplerPlan {
  model: AsyncDenoiserFn<C>;
  cond: C;
}

/** one model evaluation a sampler asks for (x stays the sampler's) */
export interface ModelCall {
  x: tf.Tensor;
  t: number;
}

/** a sampler's steps: yields model calls, is resumed with the model's output (which it then owns), returns x0 */
export type SamplerSteps = Generator<ModelCall, tf.Tensor, tf.Tensor>;

/** drives the steps with a synchronous model */
export function runSampler<C>(steps: SamplerSteps, model: DenoiserFn<C>, cond: C): tf.Tensor {
  let r = steps.next();
  while (!r.done) {
    const { x, t } = r.value;
    r = steps.next(tf.tidy(() => model(x, t, cond)));
  }
  return r.value;
}

/** drives the steps with an asynchronous model (one call in flight at a time) */
export async function runSamplerAsync<C>(steps: SamplerSteps, model: AsyncDenoiserFn<C>, cond: C): Promise<tf.Tensor> {
  let r = steps.next();
  while (!r.done) {
    const { x, t } = r.value;
    r = steps.next(await model(x, t, cond));
  }
  return r.value;
}

/** ε and x0 from the model's output at (x, t), whatever its prediction type */
export const epsAndX0 = (plan: SamplerPlan, x: tf.Tensor, out: tf.Tensor, t: number): { eps: tf.Tensor; x0: tf.Tensor } =>
  toEpsAndX0(plan.schedule, plan.prediction ?? 'epsilon', x, out, t);

/** x clamped to [−range, range], or x itself when range is undefined (no clipping) */
export const clipped = (x: tf.Tensor, range: number | undefined): tf.Tensor => (range === undefined ? x : tf.clipByValue(x, -range, range));

/** runs one step that yields the next x, disposing the previous one unless it is the caller's x_T */
export const advance = (current: tf.Tensor, xT: tf.Tensor, step: () => tf.Tensor): tf.Tensor => {
  const next = tf.tidy(step);
  if (current !== xT) current.dispose();
  return next;
};

/** seeded standard normal noise for step `index` (tfjs' seeded generator is the same on every backend) */
export const stepNoise = (shape: number[], seed: number, index: number): tf.Tensor => randomNormal(shape, 0, 1, 'float32', tfjsRandomSeed(seed * 100003 + index));

/** ᾱ at a timestep, with diffusers' convention for the step past t = 0 */
export const alphaBarOrFinal = (schedule: NoiseSchedule, t: number, final: number): number => (t >= 0 ? (schedule.alphasCumprod[t] as number) : final);
