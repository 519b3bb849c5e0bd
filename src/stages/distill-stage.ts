import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { PREVIEW_SEED, RUN_STREAM, runStream } from '../data/streams.js';
import { loraLayersOf } from '../diffusion/lora-targets.js';
import { initUNet, unetForward, type UNet } from '../diffusion/unet/index.js';
import { distill, type DistillSettings } from '../distill/trainer.js';
import { studentX0 } from '../distill/student-output.js';
import type { CellConfig } from '../config/schema.js';
import { selectBackend } from '../tensor/backend.js';
import { loadTeacher } from '../teacher/bundle.js';
import { isPipelineFolder } from '../models/sd/pipeline-folder.js';
import { BadInputError } from '../errors.js';
import { toUint8Images, writeGrid } from '../teacher/images.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import type { Stage } from '../tracking/stage.js';
import { saveSafetensors } from '../weights/safetensors.js';
import { loadPrompts } from './prompts.js';

/** The schema's distill settings, as the trainer takes them. */
export function distillSettings(config: CellConfig): DistillSettings {
  const d = config.distill;
  return {
    seed: config.seed,
    steps: d.steps,
    batchSize: d.batch_size,
    guidanceScale: d.guidance_scale,
    tMin: d.t_min,
    tMax: d.t_max,
    gradClip: d.grad_clip,
    gradientWeighting: d.gradient_weighting,
    adam: { beta1: d.adam.beta1, beta2: d.adam.beta2, epsilon: d.adam.epsilon, weightDecay: d.adam.weight_decay },
    studentParameterization: d.student.parameterization,
    studentInit: d.student.init,
    studentLr: d.student.learning_rate,
    studentLrSchedule: d.student.learning_rate_schedule,
    emaDecay: d.student.ema_decay,
    inputTimestep: d.student.input_timestep,
    lora: {
      enabled: d.lora_teacher.enabled,
      rank: d.lora_teacher.rank,
      alpha: d.lora_teacher.alpha,
      targets: loraLayersOf(d.lora_teacher.targets),
      lr: d.lora_teacher.learning_rate,
      updatesPerStep: d.lora_teacher.updates_per_step,
      lossWeighting: d.lora_teacher.loss_weighting,
      guidanceScale: d.lora_teacher.guidance_scale ?? d.guidance_scale,
      nullPromptProb: d.lora_teacher.null_prompt_prob,
      tMin: d.lora_teacher.t_min,
      tMax: d.lora_teacher.t_max,
    },
    checkpointEvery: d.checkpoint_every,
    logEvery: d.log_every,
  };
}

/**
 * Trains the one-step student of a cell (VSD with the LoRA teacher, or SDS without it). Teacher rows
 * (`distill.enabled: false`) pass straight through: generation then samples the teacher itself.
 */
export const distillStage: Stage = {
  name: 'distill',
  version: 'distill-2', // 2: run seeds derived independently (deriveRunSeed)
  assets: ['teacher', 'distill.prompts'],
  inputs: (c) => (c.distill.enabled ? { teacher: c.teacher, distill: { ...c.distill, checkpoint_every: undefined, log_every: undefined }, seed: c.seed } : { teacher: c.teacher, distill: { enabled: false } }),
  async run(ctx) {
    const config = ctx.cell.config;
    if (!config.distill.enabled) return { student: null };
    if (isPipelineFolder(config.teacher.model)) {
      throw new BadInputError('SD_DISTILL_UNSUPPORTED', `teacher.model ${config.teacher.model}: distilling from a diffusers Stable Diffusion folder is not supported yet (its teacher rows are)`, 'set distill.enabled: false for the teacher rows of a diffusers folder');
    }
    const backend = await selectBackend(config.distill.backend);
    const teacher = loadTeacher(config.teacher.model);
    const prompts = await loadPrompts(config.distill.prompts);
    const settings = distillSettings(config);
    const pick = (step: number, batch: number): string[] => {
      const rng = runStream(config.seed, step, RUN_STREAM.prompts);
      return Array.from({ length: batch }, () => prompts[rng.nextUint32() % prompts.length] as string);
    };
    const [h, w, c] = teacher.imageShape;
    const previewCaptions = prompts.slice(0, 8);
    const previewNoise = tf.randomNormal([previewCaptions.length, h, w, c], 0, 1, 'float32', PREVIEW_SEED.distill);
    const previewCond = teacher.text.encode(previewCaptions);
    const t0 = Date.now();
    const result = await distill(
      { schedule: teacher.schedule, teacher: teacher.unet, initRandom: (seed) => initUNet(teacher.unet.config, seed), encodeText: (cs) => teacher.text.encode(cs), nullText: teacher.nullText, imageShape: teacher.imageShape },
      settings,
      pick,
      ctx.workDir,
      {
        log: (r) => ctx.log(Object.fromEntries(Object.entries(r).filter((e): e is [string, number] => e[1] !== undefined))),
        progress: (d, t) => ctx.progress(d, t),
        signal: ctx.signal,
        warn: (m) => process.stderr.write(`warning: ${m}\n`),
        onCheckpoint: (step, _student, ema) => preview(ema, step),
      },
    );
    // the EMA student on fixed noise and captions at every checkpoint: the run's sample history
    async function preview(net: UNet, step: number): Promise<void> {
      const x = tf.tidy(() => studentX0(settings.studentParameterization, teacher.schedule, settings.inputTimestep, previewNoise, unetForward(net, previewNoise as tf.Tensor4D, settings.inputTimestep, previewCond)));
      await writeGrid(join(ctx.workDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), toUint8Images(x as tf.Tensor4D), w, h, 8);
      x.dispose();
    }
    await saveSafetensors(join(ctx.workDir, 'student.safetensors'), result.student.params);
    await saveSafetensors(join(ctx.workDir, 'student-ema.safetensors'), result.ema.params);
    await writeJsonAtomically(join(ctx.workDir, 'student.json'), {
      unet: result.student.config,
      parameterization: settings.studentParameterization,
      input_timestep: settings.inputTimestep,
      image: { height: h, width: w, channels: c },
      teacher: config.teacher.model,
    });
    const summary = { student: 'student.safetensors', student_ema: 'student-ema.safetensors', backend: backend.name, steps: settings.steps, started_from: result.startedFrom, seconds: (Date.now() - t0) / 1000 };
    tf.dispose([previewNoise, previewCond]);
    tf.disposeVariables();
    return summary;
  },
};
