// SwiftBrush's one-step sample: noise at t = T − 1 through the student UNet, x̂0 by the ε parameterization, then the
// VAE. The released inference code (VinAIResearch/SwiftBrush infer.py:54) hard-codes ᾱ_T = 0.0047 where SD's
// schedule gives ᾱ_999 = 0.0046601; both are settings here so the released student's images reproduce exactly.
import * as tf from '@tensorflow/tfjs';
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

/** noise [B, h, w, 4] and prompt embeddings [B, 77, D] → x̂0 latents (unscaled by the VAE factor, as the UNet sees them) */
export function oneStepLatents(o: OneStepOptions, noise: tf.Tensor4D, promptEmbeds: tf.Tensor3D): tf.Tensor4D {
  const t = o.schedule.numTrainTimesteps - 1;
  const abar = o.alphaBar === 'schedule' ? (o.schedule.alphasCumprod[t] as number) : o.alphaBar;
  return tf.tidy(() => {
    const eps = sdUNetForward(o.unet.layer, o.unet.config, noise, [t], promptEmbeds);
    return tf.div(tf.sub(noise, tf.mul(eps, Math.sqrt(1 - abar))), Math.sqrt(abar)) as tf.Tensor4D;
  });
}
