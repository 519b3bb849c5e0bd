import type * as tf from '@tensorflow/tfjs';
import type { PredictionType, Timesteps } from '../diffusion/parameterization.js';
import { vToEps, x0ToEps } from '../diffusion/parameterization.js';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import { unetForward, type UNetConfig } from '../diffusion/unet/index.js';
import type { LoraAdapter } from '../nn/lora.js';
import type { ParamMap } from '../nn/params.js';

/**
 * A network architecture the trainer can distill, apart from its weights: the student, its EMA and the frozen
 * teacher are three ParamMaps through the same forward, so one training loop serves the embedded UNet and a
 * diffusers Stable Diffusion UNet alike.
 */
export interface DistillNet {
  /** what the network outputs (the teacher's scheduler says; the embedded UNet always gives ε) */
  readonly prediction: PredictionType;
  /** the raw output for latents/images x [B, H, W, C] at t with text embeddings cond [B, L, D], the adapter applied where it targets */
  forward(params: ParamMap, x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter): tf.Tensor4D;
}

/**
 * The teacher's passes a distillation step never differentiates (the frozen teacher's CFG pass and the LoRA
 * teacher's pass inside the student's score gradient) on another engine than the net's tfjs forward, such as ONNX
 * Runtime with the frozen weights built in and the adapter's current weights fed each call. The output is what
 * `DistillNet.forward` gives on the teacher's weights (the adapter applied when given and switched on).
 */
export interface TeacherPasses {
  forward(x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter): tf.Tensor4D;
}

/** the embedded engine's UNet as a DistillNet */
export const embeddedDistillNet = (config: UNetConfig): DistillNet => ({
  prediction: 'epsilon',
  forward: (params, x, t, cond, lora) => unetForward({ config, params }, x, t, cond, lora),
});

/**
 * ε of a raw network output at x_t: the output itself for an ε-predictor (no op, so ε teachers compute exactly
 * what they did before prediction types existed), converted for v- and x0-predictors.
 */
export function epsOf(prediction: PredictionType, schedule: NoiseSchedule, xt: tf.Tensor, out: tf.Tensor, t: Timesteps): tf.Tensor {
  switch (prediction) {
    case 'epsilon':
      return out;
    case 'v_prediction':
      return vToEps(schedule, xt, out, t);
    case 'sample':
      return x0ToEps(schedule, xt, out, t);
  }
}

