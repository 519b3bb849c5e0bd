// An SD pipeline folder as a cell's teacher: the rows the embedded study samples from its teacher (DDIM / DDPM /
// DPM-Solver++ with CFG, and the one-step sample: the x̂0 prediction from pure noise at t = T − 1 with CFG), each
// sampler set up from the folder's scheduler_config.json as diffusers' from_config does, on either engine.
import * as tf from '@tensorflow/tfjs';
import { guidedAsync } from '../../diffusion/guidance.js';
import { toEpsAndX0 } from '../../diffusion/parameterization.js';
import { ddimSettings } from '../../diffusion/scheduler-config.js';
import type { NoiseSchedule } from '../../diffusion/schedule.js';
import type { SdEngine } from './engine.js';
import { sampleLatents } from './sample.js';

export type TeacherSamplerName = 'one-step' | 'ddim' | 'ddpm' | 'dpm-solver++';

export interface TeacherSampling {
  sampler: TeacherSamplerName;
  steps: number;
  guidance: number;
  /** DDPM's per-step noise */
  seed: number;
  /** the one-step sample's ᾱ at t = T − 1 instead of the schedule's (SwiftBrush's infer.py hard-codes 0.0047) */
  oneStepAlphaBar?: number;
}

/** the latent shape [h, w, c] of one sample: the UNet's sample_size */
export const latentShape = (e: SdEngine): [number, number, number] => [e.sampleSize, e.sampleSize, e.latentChannels];

/** the schedule with ᾱ at `t` replaced (both precisions), for the x̂0 of a one-step sample */
const withAlphaBarAt = (schedule: NoiseSchedule, t: number, alphaBar: number): NoiseSchedule => {
  const alphasCumprod = Float32Array.from(schedule.alphasCumprod);
  const alphasCumprod64 = Float64Array.from(schedule.alphasCumprod64);
  alphasCumprod[t] = alphaBar;
  alphasCumprod64[t] = alphaBar;
  return { ...schedule, alphasCumprod, alphasCumprod64 };
};

/** the teacher's one-step sample with CFG: its x̂0 prediction from the noise at t = T − 1 */
async function oneStepWithGuidance(e: SdEngine, o: TeacherSampling, z: tf.Tensor4D, captions: readonly string[]): Promise<tf.Tensor4D> {
  const cond = await e.encodePrompts(captions);
  const nullCond = await e.encodePrompts(['']);
  try {
    const settings = ddimSettings(e.scheduler);
    const { prediction } = settings;
    const last = settings.schedule.numTrainTimesteps - 1;
    const schedule = o.oneStepAlphaBar === undefined ? settings.schedule : withAlphaBarAt(settings.schedule, last, o.oneStepAlphaBar);
    const out = await guidedAsync(e.unet, { scale: o.guidance, nullCond })(z, last, cond);
    try {
      return tf.tidy(() => toEpsAndX0(schedule, prediction, z, out, last).x0 as tf.Tensor4D);
    } finally {
      out.dispose();
    }
  } finally {
    tf.dispose([cond, nullCond]);
  }
}

/** images [B, H, W, 3] in [−1, 1] for the captions, from the starting latents z [B, h, w, c] */
export async function sampleTeacher(e: SdEngine, o: TeacherSampling, z: tf.Tensor4D, captions: readonly string[]): Promise<tf.Tensor4D> {
  const latents =
    o.sampler === 'one-step'
      ? await oneStepWithGuidance(e, o, z, captions)
      : await sampleLatents(e, captions, z, { sampler: o.sampler === 'dpm-solver++' ? 'dpm-solver++2m' : o.sampler, steps: o.steps, guidance: o.guidance, oneStepAlphaBar: 'schedule', seed: o.seed });
  try {
    return await e.decode(latents);
  } finally {
    latents.dispose();
  }
}
