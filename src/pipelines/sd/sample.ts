// Sampling a Stable Diffusion pipeline as diffusers' StableDiffusionPipeline does (prompt and "" encoded by the text
// encoder, the CFG loop of the chosen scheduler, the VAE decode of latents / scaling_factor), or SwiftBrush's
// one-step sample (no guidance, as its inference code). Each sampler reads its settings from scheduler_config.json as
// diffusers' from_config would.
import * as tf from '@tensorflow/tfjs';
import { guided } from '../../diffusion/guidance.js';
import { ddimSample } from '../../diffusion/samplers/ddim.js';
import { ddpmSample } from '../../diffusion/samplers/ddpm.js';
import { dpmSolverPlusPlus2M } from '../../diffusion/samplers/dpm-solver.js';
import { ddimSettings, ddpmSettings, dpmSolverSettings, samplerOfConfig, scheduleFromConfig } from '../../diffusion/scheduler-config.js';
import { sdTextEncode } from '../../models/sd/text-encoder.js';
import { sdVaeDecode } from '../../models/sd/vae.js';
import { sdUNetDenoiser } from './denoiser.js';
import type { SdPipeline } from './load-pipeline.js';
import { oneStepLatents, type OneStepAlphaBar } from './one-step.js';
import type { SdSampler } from './sampler-names.js';


export interface SdSampleOptions {
  sampler: SdSampler;
  /** model evaluations (ignored by one-step) */
  steps: number;
  /** classifier-free guidance scale; 1 = no unconditional pass (one-step always runs without guidance) */
  guidance: number;
  /** one-step: ᾱ at t = T − 1 ('schedule', or SwiftBrush's released 0.0047) */
  oneStepAlphaBar: OneStepAlphaBar;
  /** DDPM's per-step noise */
  seed: number;
  onStep?: (index: number, t: number) => void;
}

/** the sampler a folder's scheduler names, where the engine has it; SD 2.1's PNDM has none, so DDIM with its settings */
export const defaultSampler = (p: SdPipeline): SdSampler => samplerOfConfig(p.scheduler) ?? 'ddim';

/** the text encoder's hidden states of the prompts [B, 77, D] */
export const encodePrompts = (p: SdPipeline, prompts: readonly string[]): tf.Tensor3D =>
  tf.tidy(() => sdTextEncode(p.textEncoder.layer, p.textEncoder.config, tf.tensor2d(p.tokenizer.encodeBatch(prompts), [prompts.length, p.tokenizer.maxLength], 'int32')));

/** final latents [B, h, w, 4] from the initial latents (noise) for the prompts */
export function sampleLatents(p: SdPipeline, prompts: readonly string[], noise: tf.Tensor4D, o: SdSampleOptions): tf.Tensor4D {
  const cond = encodePrompts(p, prompts);
  try {
    if (o.sampler === 'one-step') return oneStepLatents({ unet: p.unet, schedule: scheduleFromConfig(p.scheduler), alphaBar: o.oneStepAlphaBar }, noise, cond);
    const nullCond = encodePrompts(p, ['']);
    try {
      const base = {
        model: guided(sdUNetDenoiser(p.unet.layer, p.unet.config), { scale: o.guidance, nullCond }),
        cond,
        steps: o.steps,
        xT: noise,
        ...(o.onStep ? { onStep: o.onStep } : {}),
      };
      const file = p.folder.scheduler.configPath;
      if (o.sampler === 'ddim') return ddimSample({ ...base, ...ddimSettings(p.scheduler) }) as tf.Tensor4D;
      if (o.sampler === 'ddpm') return ddpmSample({ ...base, ...ddpmSettings(p.scheduler, file), seed: o.seed }) as tf.Tensor4D;
      return dpmSolverPlusPlus2M({ ...base, ...dpmSolverSettings(p.scheduler, file) }) as tf.Tensor4D;
    } finally {
      nullCond.dispose();
    }
  } finally {
    cond.dispose();
  }
}

/** latents → images [B, H, W, 3] in [0, 1], as the pipeline's postprocess: (decode / 2 + 0.5) clamped */
export const decodeLatents = (p: SdPipeline, latents: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => tf.clipByValue(tf.add(tf.div(sdVaeDecode(p.vae.layer, p.vae.config, latents), 2), 0.5), 0, 1) as tf.Tensor4D);
