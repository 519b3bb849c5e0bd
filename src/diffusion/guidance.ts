import * as tf from '@tensorflow/tfjs';
import type { AsyncDenoiserFn, DenoiserFn } from './denoiser.js';
import type { Timesteps } from './parameterization.js';

/** classifier-free guidance, diffusers' convention: ε_u + s·(ε_c − ε_u); s = 1 is the conditional model */
export const classifierFreeGuidance = (uncond: tf.Tensor, cond: tf.Tensor, scale: number): tf.Tensor =>
  tf.tidy(() => tf.add(uncond, tf.mul(scale, tf.sub(cond, uncond))));

export interface GuidanceOptions {
  /** guidance scale s */
  scale: number;
  /** the null-text embedding (encoding of ""), shape [1, ...] or [B, ...]; broadcast to the batch */
  nullCond: tf.Tensor;
}

/** the one model call of a guided step: [unconditional; conditional] as a batch of 2B */
function guidanceBatch(xt: tf.Tensor, t: Timesteps, cond: tf.Tensor, nullCond: tf.Tensor): { x: tf.Tensor; t: Timesteps; cond: tf.Tensor } {
  const batch = xt.shape[0] ?? 1;
  return tf.tidy(() => {
    const nulls = nullCond.shape[0] === batch ? nullCond : tf.broadcastTo(nullCond, [batch, ...nullCond.shape.slice(1)]);
    return { x: tf.concat([xt, xt]), t: typeof t === 'number' ? t : [...t, ...t], cond: tf.concat([nulls, cond]) };
  });
}

/** the 2B output split into its halves and guided */
function guidanceCombine(out: tf.Tensor, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [uncondOut, condOut] = tf.split(out, 2);
    if (uncondOut === undefined || condOut === undefined) throw new Error('guided model output could not be split');
    return classifierFreeGuidance(uncondOut, condOut, scale);
  });
}

/**
 * wraps a text-conditioned model into a guided one. unconditional and conditional halves run as one
 * batch of 2B (what SD pipelines do); s = 1 skips the unconditional pass.
 */
export const guided = (model: DenoiserFn<tf.Tensor>, options: GuidanceOptions): DenoiserFn<tf.Tensor> => (xt, t, cond) => {
  if (options.scale === 1) return model(xt, t, cond);
  return tf.tidy(() => {
    const b = guidanceBatch(xt, t, cond, options.nullCond);
    return guidanceCombine(model(b.x, b.t, b.cond), options.scale);
  });
};

/** `guided` for an asynchronous model: the same batch and the same combination around the awaited call */
export const guidedAsync = (model: AsyncDenoiserFn<tf.Tensor>, options: GuidanceOptions): AsyncDenoiserFn<tf.Tensor> => async (xt, t, cond) => {
  if (options.scale === 1) return model(xt, t, cond);
  const b = guidanceBatch(xt, t, cond, options.nullCond);
  try {
    const out = await model(b.x, b.t, b.cond);
    try {
      return guidanceCombine(out, options.scale);
    } finally {
      out.dispose();
    }
  } finally {
    tf.dispose([b.x, b.cond]);
  }
};
