// A diffusers UNet as the distill trainer's network: the architecture (sdUNetForward on a config) apart from the
// weights, which the trainer passes in (the frozen teacher, the student, its EMA). Structurally the trainer's
// DistillNet: pipelines/ and distill/ share a layer, so neither imports the other; the distill stage joins them.
import type * as tf from '@tensorflow/tfjs';
import type { PredictionType, Timesteps } from '../../diffusion/parameterization.js';
import type { LoraAdapter } from '../../nn/lora.js';
import type { ParamMap } from '../../nn/params.js';
import { sdUNetOn } from '../../models/sd/unet-params.js';
import type { UNetConfig } from '../../models/sd/unet-config.js';
import type { UNetForwardOptions } from '../../models/sd/unet.js';

export interface SdDistillNet {
  readonly prediction: PredictionType;
  forward(params: ParamMap, x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter): tf.Tensor4D;
}

/**
 * `prediction`: what the UNet outputs, as its scheduler_config.json says (SD 2.1 at 768: v_prediction); `memory`:
 * gradient checkpointing and sliced attention (models/sd/unet.ts), which trade compute for memory
 */
export const sdDistillNet = (config: UNetConfig, prediction: PredictionType, memory: UNetForwardOptions = {}): SdDistillNet => ({
  prediction,
  forward: (params, x, t, cond, lora) => sdUNetOn(config, params, x, t, cond, lora, memory),
});
