// The tfjs engine: a loaded diffusers folder (load-pipeline.ts) behind the SdEngine surface; its networks run
// synchronously, and are awaited only to share the sampling loop with ONNX Runtime.
import * as tf from '@tensorflow/tfjs';
import { sdTextEncode } from '../../models/sd/text-encoder.js';
import { sdVaeDecode } from '../../models/sd/vae.js';
import { sdUNetDenoiser } from './denoiser.js';
import type { SdEngine } from './engine.js';
import type { SdPipeline } from './load-pipeline.js';

export function tfjsSdEngine(p: SdPipeline): SdEngine {
  const unet = sdUNetDenoiser(p.unet.layer, p.unet.config);
  return {
    name: 'tfjs',
    dir: p.folder.dir,
    scheduler: p.scheduler,
    schedulerConfigPath: p.folder.scheduler.configPath,
    latentChannels: p.unet.config.in_channels,
    sampleSize: p.unet.config.sample_size ?? 64,
    vaeScale: p.vaeScale,
    warnings: p.folder.warnings,
    encodePrompts: async (prompts) =>
      tf.tidy(() => sdTextEncode(p.textEncoder.layer, p.textEncoder.config, tf.tensor2d(p.tokenizer.encodeBatch(prompts), [prompts.length, p.tokenizer.maxLength], 'int32'))),
    unet: async (xt, t, cond) => tf.tidy(() => unet(xt, t, cond)),
    decode: async (latents) => tf.tidy(() => sdVaeDecode(p.vae.layer, p.vae.config, latents)),
    dispose: async () => p.dispose(),
  };
}
