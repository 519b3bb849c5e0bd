import type * as tf from '@tensorflow/tfjs';
import type { DenoiserFn } from '../../diffusion/denoiser.js';
import type { LayerContext } from '../../nn/layers.js';
import { sdUNetForward } from '../../models/sd/unet.js';
import type { UNetConfig } from '../../models/sd/unet-config.js';

/** an SD UNet as the samplers see it: (latents [B, h, w, 4], t, text embeddings [B, 77, D]) ↦ its prediction */
export const sdUNetDenoiser =
  (layer: LayerContext, config: UNetConfig): DenoiserFn<tf.Tensor> =>
  (xt, t, cond) =>
    sdUNetForward(layer, config, xt as tf.Tensor4D, typeof t === 'number' ? [t] : t, cond as tf.Tensor3D);
