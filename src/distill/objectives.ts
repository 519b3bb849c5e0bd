import * as tf from '@tensorflow/tfjs';
import { epsToX0 } from '../diffusion/parameterization.js';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import type { LoraLossWeighting } from './lora-loss-weighting.js';
import type { ScoreGradientWeighting } from './score-gradient-weighting.js';

// The SwiftBrush losses, as train_swiftbrush.py computes them (../shared/reference/swiftbrush.md §1.3–1.4).

/** w(t) = σ_t² = 1 − ᾱ_t per sample, shaped [B, 1, 1, 1]. */
export function weightW(schedule: NoiseSchedule, t: readonly number[]): tf.Tensor4D {
  return tf.tensor4d(t.map((ti) => 1 - (schedule.alphasCumprod[ti] as number)), [t.length, 1, 1, 1]);
}

/**
 * The score gradient on x̂0: w(t)(ε_teacher − ε_other), with NaN/±Inf replaced as torch.nan_to_num does
 * (NaN → 0, ±Inf → ±float32 max). ε_other is the LoRA teacher's prediction (VSD) or the injected noise (SDS).
 */
export function scoreGradient(schedule: NoiseSchedule, t: readonly number[], teacherEps: tf.Tensor, otherEps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => nanToNum(tf.mul(weightW(schedule, t), tf.sub(teacherEps, otherEps))));
}

/**
 * DMD2's distribution-matching gradient on x̂0: (x̂0_other − x̂0_teacher) / mean|x̂0 − x̂0_teacher| per sample, the x̂0
 * predictions read from x_t and each ε. x̂0_other − x̂0_teacher = (σ_t/α_t)(ε_teacher − ε_other), so it points
 * where SwiftBrush's does; only the weighting over t and over samples differs.
 */
export function dmdGradient(schedule: NoiseSchedule, t: readonly number[], x0: tf.Tensor, xt: tf.Tensor, teacherEps: tf.Tensor, otherEps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x0Teacher = epsToX0(schedule, xt, teacherEps, t);
    const x0Other = epsToX0(schedule, xt, otherEps, t);
    const scale = tf.mean(tf.abs(tf.sub(x0, x0Teacher)), [1, 2, 3], true);
    return nanToNum(tf.div(tf.sub(x0Other, x0Teacher), scale));
  });
}

/** The student's score gradient under the configured weighting. */
export function weightedScoreGradient(
  weighting: ScoreGradientWeighting,
  schedule: NoiseSchedule,
  t: readonly number[],
  x0: tf.Tensor,
  xt: tf.Tensor,
  teacherEps: tf.Tensor,
  otherEps: tf.Tensor,
): tf.Tensor {
  return weighting === 'dmd' ? dmdGradient(schedule, t, x0, xt, teacherEps, otherEps) : scoreGradient(schedule, t, teacherEps, otherEps);
}

const F32_MAX = 3.4028234663852886e38;

export function nanToNum(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.where(tf.isNaN(x), tf.zerosLike(x), x), -F32_MAX, F32_MAX));
}

/**
 * The VSD loss 0.5 · mean((x̂0 − sg(x̂0 − g))²) as one custom op: its value is 0.5 · mean(g²) and its gradient
 * with respect to x̂0 is g / N. `gradientOf` (the teacher passes) runs inside the op's forward, which tfjs does
 * not record on the gradient tape — the torch.no_grad of the official code, without taping every teacher
 * activation.
 */
export function vsdLoss(x0: tf.Tensor, gradientOf: (x0: tf.Tensor) => tf.Tensor): tf.Scalar {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const g = gradientOf(x);
    save([g]);
    return {
      value: tf.mul(0.5, tf.mean(tf.square(g))) as tf.Scalar,
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => tf.mul(dy, tf.div(saved[0] as tf.Tensor, x.size)),
    };
  });
  return op(x0) as tf.Scalar;
}


/** The LoRA teacher's diffusion loss, the per-sample ε-MSE weighted over t as `weighting` says. */
export function loraLoss(schedule: NoiseSchedule, t: readonly number[], pred: tf.Tensor, noise: tf.Tensor, weighting: LoraLossWeighting = 'alpha-bar'): tf.Scalar {
  const weight = (ti: number): number => {
    const abar = schedule.alphasCumprod[ti] as number;
    return weighting === 'alpha-bar' ? abar : weighting === 'v' ? 1 / abar : 1;
  };
  const w = tf.tensor4d(t.map(weight), [t.length, 1, 1, 1]);
  return tf.mean(tf.mul(w, tf.square(tf.sub(pred, noise)))) as tf.Scalar;
}

/** The gradients' global L2 norm, op by op: one float32 tf.sum of squares per tensor, added up in double. */
export function globalNormByOps(grads: Record<string, tf.Tensor>): number {
  return Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0] as number), 0));
}

/** torch's clip_coef = max_norm / (total_norm + 1e-6), applied when < 1; undefined when the gradients stay as they are */
export function clipCoefficient(norm: number, maxNorm: number): number | undefined {
  const coef = maxNorm / (norm + 1e-6);
  return coef < 1 ? coef : undefined;
}

/** each gradient times `coef` (one float32 multiply per element); disposes the unscaled ones */
export function scaleGradients(grads: Record<string, tf.Tensor>, coef: number): Record<string, tf.Tensor> {
  const scaled: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) {
    scaled[k] = tf.mul(g, coef);
    g.dispose();
  }
  return scaled;
}

/** Scales gradients so their global L2 norm is at most `maxNorm` (torch clip_grad_norm_); returns the norm before. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const norm = globalNormByOps(grads);
  const coef = clipCoefficient(norm, maxNorm);
  return { grads: coef === undefined ? grads : scaleGradients(grads, coef), norm };
}
