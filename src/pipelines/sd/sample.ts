// Sampling a Stable Diffusion pipeline as diffusers' StableDiffusionPipeline does (prompt and "" encoded by the text
// encoder, the CFG loop of the chosen scheduler, the VAE decode of latents / scaling_factor), or SwiftBrush's
// one-step sample (no guidance, as its inference code). Each sampler reads its settings from scheduler_config.json as
// diffusers' from_config would. Any engine (tfjs, ONNX Runtime) runs the networks; the loop is the samplers' own.
import * as tf from '@tensorflow/tfjs';
import { guidedAsync } from '../../diffusion/guidance.js';
import { ddimSampleAsync } from '../../diffusion/samplers/ddim.js';
import { ddpmSampleAsync } from '../../diffusion/samplers/ddpm.js';
import { dpmSolverPlusPlus2MAsync } from '../../diffusion/samplers/dpm-solver.js';
import { ddimSettings, ddpmSettings, dpmSolverSettings, samplerOfConfig, scheduleFromConfig } from '../../diffusion/scheduler-config.js';
import type { SdEngine } from './engine.js';
import { oneStepLatentsAsync, type OneStepAlphaBar } from './one-step.js';
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
export const defaultSampler = (e: SdEngine): SdSampler => samplerOfConfig(e.scheduler) ?? 'ddim';

/** final latents [B, h, w, 4] from the initial latents (noise) for the prompts */
export async function sampleLatents(e: SdEngine, prompts: readonly string[], noise: tf.Tensor4D, o: SdSampleOptions): Promise<tf.Tensor4D> {
  const cond = await e.encodePrompts(prompts);
  try {
    if (o.sampler === 'one-step') return await oneStepLatentsAsync(e.unet, scheduleFromConfig(e.scheduler), o.oneStepAlphaBar, noise, cond);
    const nullCond = await e.encodePrompts(['']);
    try {
      const base = {
        model: guidedAsync(e.unet, { scale: o.guidance, nullCond }),
        cond,
        steps: o.steps,
        xT: noise,
        ...(o.onStep ? { onStep: o.onStep } : {}),
      };
      const file = e.schedulerConfigPath;
      if (o.sampler === 'ddim') return (await ddimSampleAsync({ ...base, ...ddimSettings(e.scheduler) })) as tf.Tensor4D;
      if (o.sampler === 'ddpm') return (await ddpmSampleAsync({ ...base, ...ddpmSettings(e.scheduler, file), seed: o.seed })) as tf.Tensor4D;
      return (await dpmSolverPlusPlus2MAsync({ ...base, ...dpmSolverSettings(e.scheduler, file) })) as tf.Tensor4D;
    } finally {
      nullCond.dispose();
    }
  } finally {
    cond.dispose();
  }
}

/** latents → images [B, H, W, 3] in [0, 1], as the pipeline's postprocess: (decode / 2 + 0.5) clamped */
export async function decodeLatents(e: SdEngine, latents: tf.Tensor4D): Promise<tf.Tensor4D> {
  const decoded = await e.decode(latents);
  try {
    return tf.tidy(() => tf.clipByValue(tf.add(tf.div(decoded, 2), 0.5), 0, 1) as tf.Tensor4D);
  } finally {
    decoded.dispose();
  }
}
