// SwiftBrush's one-step sample: noise at t = T − 1 through the student UNet, x̂0 by the ε parameterization, then the
// VAE. The released inference code (VinAIResearch/SwiftBrush infer.py:54) hard-codes ᾱ_T = 0.0047 where SD's
// schedule gives ᾱ_999 = 0.0046601; both are settings here so the released student's images reproduce exactly.
import * as tf from '@tensorflow/tfjs';
import type { AsyncDenoiserFn } from '../../diffusion/denoiser.js';
import type { NoiseSchedule } from '../../diffusion/schedule.js';
import type { LayerContext } from '../../nn/layers.js';
import { sdUNetForward } from '../../models/sd/unet.js';
import type { UNetConfig } from '../../models/sd/unet-config.js';

/** 'schedule': ᾱ_{T−1} of the noise schedule; a number: that ᾱ (SwiftBrush's released code: 0.0047) */
export type OneStepAlphaBar = 'schedule' | number;

export const SWIFTBRUSH_RELEASED_ALPHA_BAR = 0.0047;

export interface OneStepOptions {
  unet: { layer: LayerContext; config: UNetConfig };
  schedule: NoiseSchedule;
  alphaBar: OneStepAlphaBar;
}

/** the timestep and ᾱ of the one step */
const oneStepPoint = (schedule: NoiseSchedule, alphaBar: OneStepAlphaBar): { t: number; abar: number } => {
  const t = schedule.numTrainTimesteps - 1;
  return { t, abar: alphaBar === 'schedule' ? (schedule.alphasCumprod[t] as number) : alphaBar };
};

/** x̂0 = (noise − √(1−ᾱ) ε) / √ᾱ */
const x0OfEps = (noise: tf.Tensor4D, eps: tf.Tensor, abar: number): tf.Tensor4D =>
  tf.tidy(() => tf.div(tf.sub(noise, tf.mul(eps, Math.sqrt(1 - abar))), Math.sqrt(abar)) as tf.Tensor4D);

/** noise [B, h, w, 4] and prompt embeddings [B, 77, D] → x̂0 latents (unscaled by the VAE factor, as the UNet sees them) */
export function oneStepLatents(o: OneStepOptions, noise: tf.Tensor4D, promptEmbeds: tf.Tensor3D): tf.Tensor4D {
  const { t, abar } = oneStepPoint(o.schedule, o.alphaBar);
  return tf.tidy(() => x0OfEps(noise, sdUNetForward(o.unet.layer, o.unet.config, noise, [t], promptEmbeds), abar));
}

/** the same with any engine's UNet */
export async function oneStepLatentsAsync(unet: AsyncDenoiserFn<tf.Tensor>, schedule: NoiseSchedule, alphaBar: OneStepAlphaBar, noise: tf.Tensor4D, promptEmbeds: tf.Tensor3D): Promise<tf.Tensor4D> {
  const { t, abar } = oneStepPoint(schedule, alphaBar);
  const eps = await unet(noise, t, promptEmbeds);
  try {
    return x0OfEps(noise, eps, abar);
  } finally {
    eps.dispose();
  }
}
