// An SD pipeline folder as a cell's teacher: the rows the embedded study samples from its teacher (DDIM / DDPM /
// DPM-Solver++ with CFG, and the one-step sample: the x̂0 prediction from pure noise at t = T − 1 with CFG), each
// sampler set up from the folder's scheduler_config.json as diffusers' from_config does. Images in [−1, 1].
import * as tf from '@tensorflow/tfjs';
import { guided } from '../../diffusion/guidance.js';
import { toEpsAndX0 } from '../../diffusion/parameterization.js';
import { ddimSample } from '../../diffusion/samplers/ddim.js';
import { ddpmSample } from '../../diffusion/samplers/ddpm.js';
import { dpmSolverPlusPlus2M } from '../../diffusion/samplers/dpm-solver.js';
import { ddimSettings, ddpmSettings, dpmSolverSettings } from '../../diffusion/scheduler-config.js';
import { sdVaeDecode } from '../../models/sd/vae.js';
import { sdUNetDenoiser } from './denoiser.js';
import type { SdPipeline } from './load-pipeline.js';
import { encodePrompts } from './sample.js';

export type TeacherSamplerName = 'one-step' | 'ddim' | 'ddpm' | 'dpm-solver++';

export interface TeacherSampling {
  sampler: TeacherSamplerName;
  steps: number;
  guidance: number;
  /** DDPM's per-step noise */
  seed: number;
}

/** the latent shape [h, w, c] of one sample: the UNet's sample_size */
export const latentShape = (p: SdPipeline): [number, number, number] => {
  const s = p.unet.config.sample_size ?? 64;
  return [s, s, p.unet.config.in_channels];
};

/** images [B, H, W, 3] in [−1, 1] for the captions, from the starting latents z [B, h, w, c] */
export function sampleTeacher(p: SdPipeline, o: TeacherSampling, z: tf.Tensor4D, captions: readonly string[]): tf.Tensor4D {
  const file = p.folder.scheduler.configPath;
  const cond = encodePrompts(p, captions);
  const nullCond = encodePrompts(p, ['']);
  try {
    const model = guided(sdUNetDenoiser(p.unet.layer, p.unet.config), { scale: o.guidance, nullCond });
    const base = { model, cond, steps: o.steps, xT: z };
    let latents: tf.Tensor;
    switch (o.sampler) {
      case 'one-step': {
        const { schedule, prediction } = ddimSettings(p.scheduler);
        const last = schedule.numTrainTimesteps - 1;
        latents = tf.tidy(() => toEpsAndX0(schedule, prediction, z, model(z, last, cond), last).x0);
        break;
      }
      case 'ddim':
        latents = ddimSample({ ...base, ...ddimSettings(p.scheduler) });
        break;
      case 'ddpm':
        latents = ddpmSample({ ...base, ...ddpmSettings(p.scheduler, file), seed: o.seed });
        break;
      case 'dpm-solver++':
        latents = dpmSolverPlusPlus2M({ ...base, ...dpmSolverSettings(p.scheduler, file) });
        break;
    }
    const images = sdVaeDecode(p.vae.layer, p.vae.config, latents as tf.Tensor4D);
    latents.dispose();
    return images;
  } finally {
    tf.dispose([cond, nullCond]);
  }
}
