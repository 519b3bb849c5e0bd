import * as tf from '@tensorflow/tfjs';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import { alphaSigma } from '../diffusion/schedule.js';

export type StudentParameterization = 'eps' | 'x0' | 'v';

/**
 * The one-step student's image from its network output at input noise z, fed at timestep T (999):
 * - eps: the paper's x0 = (z − σ_T ε̂) / α_T (SwiftBrush train_swiftbrush.py; the official code rounds ᾱ_999 to
 *   0.0047, we use the schedule's exact float32 value 0.004660, as SwiftBrush v2's inference code does);
 * - x0: the output is the image;
 * - v: x0 = α_T z − σ_T v̂.
 */
export function studentX0(parameterization: StudentParameterization, schedule: NoiseSchedule, timestep: number, z: tf.Tensor, out: tf.Tensor): tf.Tensor {
  const { alpha, sigma } = alphaSigma(schedule, timestep);
  switch (parameterization) {
    case 'eps':
      return tf.div(tf.sub(z, tf.mul(out, sigma)), alpha);
    case 'x0':
      return out;
    case 'v':
      return tf.sub(tf.mul(z, alpha), tf.mul(out, sigma));
  }
}
