import type * as tf from '@tensorflow/tfjs';
import type { LoraAdapter } from '../../nn/lora.js';
import type { DenoiserFn } from '../denoiser.js';
import type { Timesteps } from '../parameterization.js';
import type { UNetEngineName } from './engine-names.js';
import { unetForward, type UNet } from './unet.js';

// The embedded UNet's sampling-only forward behind an engine: the tfjs forward (unetForward) or ONNX Runtime.
// Sampling rows, one-step samples and the teacher passes of a distillation step call it; nothing differentiates
// through it, so an engine outside tfjs's tape serves.

export interface UNetEngine {
  readonly name: UNetEngineName;
  /**
   * ε̂ (the network's output) for x [B, H, W, C] at t with cond [B, L, D]; with `lora` switched on, its weights as
   * they are now applied on top. Synchronous, so it can run inside a tfjs custom-gradient forward. The caller owns
   * the result.
   */
  forward(x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter): tf.Tensor4D;
  dispose(): void;
}

/** the tfjs forward as an engine: exactly unetForward, so cells on it compute what they always did */
export const tfjsUNetEngine = (net: UNet): UNetEngine => ({
  name: 'tfjs',
  forward: (x, t, cond, lora) => unetForward(net, x, t, cond, lora),
  dispose: () => undefined,
});

/** an engine as a sampler's model function (no adapter) */
export const engineDenoiser = (engine: UNetEngine): DenoiserFn<tf.Tensor> => (xt, t, cond) => engine.forward(xt as tf.Tensor4D, t, cond as tf.Tensor3D);
