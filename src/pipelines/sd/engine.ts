// What sampling needs from a Stable Diffusion pipeline, whichever runtime computes its networks: the tfjs engine
// (models/sd on the diffusers weights) or ONNX Runtime (Optimum's ONNX export). Tensors at this boundary are tfjs
// tensors, channels last as the samplers use them; the networks are awaited, so one sampling loop serves both.
import type * as tf from '@tensorflow/tfjs';
import type { AsyncDenoiserFn } from '../../diffusion/denoiser.js';
import type { SchedulerConfig } from '../../diffusion/scheduler-config.js';
import type { SdEngineName } from './engine-names.js';

export interface SdEngine {
  readonly name: SdEngineName;
  readonly dir: string;
  readonly scheduler: SchedulerConfig;
  readonly schedulerConfigPath: string;
  /** the UNet's latent channels and its default latent side (sample_size) */
  readonly latentChannels: number;
  readonly sampleSize: number;
  /** the VAE's downsampling factor: image side = latent side × this */
  readonly vaeScale: number;
  /** ignored keys and components, one line each */
  readonly warnings: readonly string[];
  /** the text encoder's hidden states of the tokenized prompts [B, 77, D] */
  encodePrompts(prompts: readonly string[]): Promise<tf.Tensor3D>;
  /** the UNet: (latents [B, h, w, C], t, text embeddings [B, 77, D]) ↦ its prediction */
  readonly unet: AsyncDenoiserFn<tf.Tensor>;
  /** VAE decode of latents / scaling_factor: [B, H, W, 3] in about [−1, 1] */
  decode(latents: tf.Tensor4D): Promise<tf.Tensor4D>;
  dispose(): Promise<void>;
}
