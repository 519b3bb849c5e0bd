import * as tf from '@tensorflow/tfjs';
import { type NoiseSchedule, alphaSigma, checkTimestep } from './schedule.js';

/** what a network outputs; SD 2.1-base and SwiftBrush's teacher predict ε */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';

/** one timestep for the whole batch, or one per sample */
export type Timesteps = number | readonly number[];

/** α_t and σ_t as tensors broadcastable against x (shape [B,1,...,1] for per-sample t) */
export const coefficients = (schedule: NoiseSchedule, t: Timesteps, x: tf.Tensor): { alpha: tf.Tensor; sigma: tf.Tensor } => {
  if (typeof t === 'number') {
    const { alpha, sigma } = alphaSigma(schedule, t);
    return { alpha: tf.scalar(alpha), sigma: tf.scalar(sigma) };
  }
  if (t.length !== x.shape[0]) throw new Error(`got ${t.length} timesteps for a batch of ${String(x.shape[0])}`);
  const shape = [t.length, ...x.shape.slice(1).map(() => 1)];
  const alphas = new Float32Array(t.length);
  const sigmas = new Float32Array(t.length);
  t.forEach((ti, i) => {
    checkTimestep(schedule, ti);
    const { alpha, sigma } = alphaSigma(schedule, ti);
    alphas[i] = alpha;
    sigmas[i] = sigma;
  });
  return { alpha: tf.tensor(alphas, shape), sigma: tf.tensor(sigmas, shape) };
};

/** x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε (diffusers' add_noise) */
export const addNoise = (schedule: NoiseSchedule, x0: tf.Tensor, noise: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, x0);
    return tf.add(tf.mul(alpha, x0), tf.mul(sigma, noise));
  });

/** v = α_t ε − σ_t x0 (diffusers' get_velocity) */
export const velocity = (schedule: NoiseSchedule, x0: tf.Tensor, noise: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, x0);
    return tf.sub(tf.mul(alpha, noise), tf.mul(sigma, x0));
  });

export const epsToX0 = (schedule: NoiseSchedule, xt: tf.Tensor, eps: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    return tf.div(tf.sub(xt, tf.mul(sigma, eps)), alpha);
  });

export const x0ToEps = (schedule: NoiseSchedule, xt: tf.Tensor, x0: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    return tf.div(tf.sub(xt, tf.mul(alpha, x0)), sigma);
  });

export const vToX0 = (schedule: NoiseSchedule, xt: tf.Tensor, v: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    return tf.sub(tf.mul(alpha, xt), tf.mul(sigma, v));
  });

export const vToEps = (schedule: NoiseSchedule, xt: tf.Tensor, v: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    return tf.add(tf.mul(sigma, xt), tf.mul(alpha, v));
  });

export const epsToV = (schedule: NoiseSchedule, xt: tf.Tensor, eps: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    // v = α ε − σ x0 with x0 = (x − σ ε)/α  ⇒  v = (ε − σ x)/α
    return tf.div(tf.sub(eps, tf.mul(sigma, xt)), alpha);
  });

export const x0ToV = (schedule: NoiseSchedule, xt: tf.Tensor, x0: tf.Tensor, t: Timesteps): tf.Tensor =>
  tf.tidy(() => {
    const { alpha, sigma } = coefficients(schedule, t, xt);
    // v = α ε − σ x0 with ε = (x − α x0)/σ  ⇒  v = (α x − x0)/σ
    return tf.div(tf.sub(tf.mul(alpha, xt), x0), sigma);
  });

/** a model output of any prediction type, as both ε and x0 */
export const toEpsAndX0 = (
  schedule: NoiseSchedule,
  prediction: PredictionType,
  xt: tf.Tensor,
  output: tf.Tensor,
  t: Timesteps,
): { eps: tf.Tensor; x0: tf.Tensor } => {
  switch (prediction) {
    case 'epsilon':
      return { eps: output.clone(), x0: epsToX0(schedule, xt, output, t) };
    case 'sample':
      return { eps: x0ToEps(schedule, xt, output, t), x0: output.clone() };
    case 'v_prediction':
      return { eps: vToEps(schedule, xt, output, t), x0: vToX0(schedule, xt, output, t) };
  }
};
