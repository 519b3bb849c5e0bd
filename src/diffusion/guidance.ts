import * as tf from '@tensorflow/tfjs';
import type { DenoiserFn } from './denoiser.js';

/** classifier-free guidance, diffusers' convention: ε_u + s·(ε_c − ε_u); s = 1 is the conditional model */
export const classifierFreeGuidance = (uncond: tf.Tensor, cond: tf.Tensor, scale: number): tf.Tensor =>
  tf.tidy(() => tf.add(uncond, tf.mul(scale, tf.sub(cond, uncond))));

export interface GuidanceOptions {
  /** guidance scale s */
  scale: number;
  /** the null-text embedding (encoding of ""), shape [1, ...] or [B, ...]; broadcast to the batch */
  nullCond: tf.Tensor;
}

/**
 * wraps a text-conditioned model into a guided one. unconditional and conditional halves run as one
 * batch of 2B (what SD pipelines do); s = 1 skips the unconditional pass.
 */
export const guided = (model: DenoiserFn<tf.Tensor>, options: GuidanceOptions): DenoiserFn<tf.Tensor> => (xt, t, cond) => {
  if (options.scale === 1) return model(xt, t, cond);
  return tf.tidy(() => {
    const batch = xt.shape[0] ?? 1;
    const nullCond = options.nullCond.shape[0] === batch ? options.nullCond : tf.broadcastTo(options.nullCond, [batch, ...options.nullCond.shape.slice(1)]);
    const ts = typeof t === 'number' ? t : [...t, ...t];
    const out = model(tf.concat([xt, xt]), ts, tf.concat([nullCond, cond]));
    const [uncondOut, condOut] = tf.split(out, 2);
    if (uncondOut === undefined || condOut === undefined) throw new Error('guided model output could not be split');
    return classifierFreeGuidance(uncondOut, condOut, options.scale);
  });
};
