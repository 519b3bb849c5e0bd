import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { join } from 'node:path';
import { PREVIEW_SEED, RUN_STREAM, runStream } from '../data/streams.js';
import { loraLayersOf } from '../diffusion/lora-targets.js';
import { initUNet, unetForward } from '../diffusion/unet/index.js';
import { onnxUNetEngine } from '../diffusion/unet/onnx-unet-engine.js';
import { distill, type DistillSettings, type TrainerHooks } from '../distill/trainer.js';
import { embeddedDistillNet } from '../distill/net.js';
import type { ParamMap } from '../nn/params.js';
import { studentX0, type StudentParameterization } from '../distill/student-output.js';
import type { CellConfig } from '../config/schema.js';
import { selectBackend } from '../tensor/backend.js';
import { loadTeacher } from '../teacher/bundle.js';
import { isPipelineFolder } from '../models/sd/pipeline-folder.js';
import { BadInputError } from '../errors.js';
import { toUint8Images, writeGrid } from '../teacher/images.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import type { Stage, StageContext } from '../tracking/stage.js';
import { loadSdDistillSetup } from '../pipelines/sd/distill-setup.js';
import { sdLoraLayersOf } from '../pipelines/sd/lora-targets.js';
import { sdDistillNet } from '../pipelines/sd/distill-net.js';
import type { UNetConfig } from '../models/sd/unet-config.js';
import { saveSafetensors } from '../weights/safetensors.js';
import { writePipelineFolder } from '../models/sd/write-pipeline-folder.js';
import { writeUNetFolder } from '../models/sd/write-unet-folder.js';
import { writePeftAdapter } from '../models/sd/write-peft-adapter.js';
import { loadPrompts } from './prompts.js';
import { commandInputs, runDistillCommand } from './command-stage.js';

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
  // distill.teacher_engine needs no new version: it is in the inputs (onnx cells get new keys), and unset it computes
  // what tfjs always did
  version: 'distill-2', // 2: run seeds derived independently (deriveRunSeed)
  assets: ['teacher', 'distill.prompts', 'distill.command'],
  inputs: (c) => (c.distill.enabled && c.distill.command ? commandInputs('distill', c) : c.distill.enabled ? { teacher: c.teacher, distill: { ...c.distill, checkpoint_every: undefined, log_every: undefined, gradient_checkpointing: undefined }, seed: c.seed } : { teacher: c.teacher, distill: { enabled: false } }),
  async run(ctx) {
    const config = ctx.cell.config;
    if (!config.distill.enabled) return { student: null };
    if (config.distill.command) return runDistillCommand(ctx);
    const backend = await selectBackend(config.distill.backend);
    const prompts = await loadPrompts(config.distill.prompts);
    const settings = distillSettings(config);
    const pick = (step: number, batch: number): string[] => {
      const rng = runStream(config.seed, step, RUN_STREAM.prompts);
      return Array.from({ length: batch }, () => prompts[rng.nextUint32() % prompts.length] as string);
    };
    if (isPipelineFolder(config.teacher.model)) {
      if (config.distill.teacher_engine === 'onnx') {
        throw new BadInputError('DISTILL_TEACHER_ENGINE', `distill.teacher_engine: onnx runs an embedded teacher's UNet; ${config.teacher.model} is a diffusers SD folder, whose teacher passes run on tfjs`, 'leave distill.teacher_engine unset, or set it to tfjs');
      }
      return distillSd(ctx, config, settings, prompts, pick, backend.name);
    }
    const teacher = loadTeacher(config.teacher.model);
    // the score gradient's teacher passes on ONNX Runtime: the frozen weights built into the graph, the LoRA
    // teacher's current weights fed at every call (CPU: the embedded UNet is too small to pay for a GPU transfer)
    const teacherPasses = config.distill.teacher_engine === 'onnx' ? onnxUNetEngine(teacher.unet, { provider: 'cpu', lora: settings.lora.enabled ? { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets } : undefined }) : undefined;
    const [h, w, c] = teacher.imageShape;
    const previewCaptions = prompts.slice(0, 8);
    const previewNoise = randomNormal([previewCaptions.length, h, w, c], 0, 1, 'float32', PREVIEW_SEED.distill);
    const previewCond = teacher.text.encode(previewCaptions);
    const t0 = Date.now();
    const result = await distill(
      {
        schedule: teacher.schedule,
        net: embeddedDistillNet(teacher.unet.config),
        teacher: teacher.unet.params,
        initRandom: (seed) => initUNet(teacher.unet.config, seed).params,
        encodeText: (cs) => teacher.text.encode(cs),
        nullText: teacher.nullText,
        imageShape: teacher.imageShape,
        ...(teacherPasses ? { teacherPasses } : {}),
      },
      settings,
      pick,
      ctx.workDir,
      stageHooks(ctx, preview),
    ).finally(() => teacherPasses?.dispose());
    // the EMA student on fixed noise and captions at every checkpoint: the run's sample history
    async function preview(params: ParamMap, step: number): Promise<void> {
      const x = tf.tidy(() => studentX0(settings.studentParameterization, teacher.schedule, settings.inputTimestep, previewNoise, unetForward({ config: teacher.unet.config, params }, previewNoise as tf.Tensor4D, settings.inputTimestep, previewCond)));
      await writeGrid(join(ctx.workDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), toUint8Images(x as tf.Tensor4D), w, h, 8);
      x.dispose();
    }
    await saveSafetensors(join(ctx.workDir, 'student.safetensors'), result.student);
    await saveSafetensors(join(ctx.workDir, 'student-ema.safetensors'), result.ema);
    await writeJsonAtomically(join(ctx.workDir, 'student.json'), {
      unet: teacher.unet.config,
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

/** what student.json says of an SD student: the generate stage reads it back (readSdStudent) */
export interface SdStudentMeta {
  kind: 'sd-unet';
  /** the teacher folder whose text encoder, VAE and scheduler the student samples with */
  teacher: string;
  unet: UNetConfig;
  parameterization: StudentParameterization;
  input_timestep: number;
}

/** the trainer's hooks in a stage: history lines, progress, interruption, warnings, and the previews at checkpoints */
function stageHooks(ctx: StageContext, preview: (ema: ParamMap, step: number) => Promise<void>): TrainerHooks {
  return {
    log: (r) => ctx.log(Object.fromEntries(Object.entries(r).filter((e): e is [string, number] => e[1] !== undefined))),
    progress: (d, t) => ctx.progress(d, t),
    signal: ctx.signal,
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    onCheckpoint: (step, _student, ema) => preview(ema, step),
  };
}

/**
 * Latent distillation of a diffusers Stable Diffusion folder: the student is a full copy of its UNet, trained
 * whole; the LoRA teacher adapts the same UNet (frozen with the adapter off); previews go through its VAE. The
 * student is saved as a ParamMap under the layers' weight names (the contract sd-interop writes diffusers folders
 * from).
 */
async function distillSd(ctx: StageContext, config: CellConfig, cellSettings: DistillSettings, prompts: string[], pick: (step: number, batch: number) => string[], backend: string): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  // the target groups as diffusers names the layers (attention's output is to_out.0, ...)
  const settings: DistillSettings = { ...cellSettings, lora: { ...cellSettings.lora, targets: sdLoraLayersOf(config.distill.lora_teacher.targets) } };
  const sd = await loadSdDistillSetup(config.teacher.model, prompts, { progress: (d, t) => ctx.progress(d, t) });
  try {
    const [h, w, c] = sd.latentShape;
    const previewCaptions = prompts.slice(0, 8);
    const previewNoise = randomNormal([previewCaptions.length, h, w, c], 0, 1, 'float32', PREVIEW_SEED.distill) as tf.Tensor4D;
    const previewCond = sd.encodeText(previewCaptions);
    const net = sdDistillNet(sd.unetConfig, sd.prediction, { checkpoint: config.distill.gradient_checkpointing, attentionSlice: config.distill.attention_slice });
    const preview = async (params: ParamMap, step: number): Promise<void> => {
      const x = tf.tidy(() => sd.decode(studentX0(settings.studentParameterization, sd.schedule, settings.inputTimestep, previewNoise, net.forward(params, previewNoise, settings.inputTimestep, previewCond)) as tf.Tensor4D));
      await writeGrid(join(ctx.workDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), toUint8Images(x), x.shape[2], x.shape[1], 8);
      x.dispose();
    };
    const result = await distill(
      {
        schedule: sd.schedule,
        net,
        teacher: sd.teacher,
        initRandom: () => {
          throw new BadInputError('SD_STUDENT_INIT', `distill.student.init: random is not offered for a diffusers teacher (${config.teacher.model}); SwiftBrush starts the student from the teacher`, 'set distill.student.init: teacher');
        },
        encodeText: (cs) => sd.encodeText(cs),
        nullText: sd.nullText,
        imageShape: sd.latentShape,
      },
      settings,
      pick,
      ctx.workDir,
      stageHooks(ctx, preview),
    );
    await saveSafetensors(join(ctx.workDir, 'student.safetensors'), result.student);
    await saveSafetensors(join(ctx.workDir, 'student-ema.safetensors'), result.ema);
    if (result.lora) await saveSafetensors(join(ctx.workDir, 'lora-teacher.safetensors'), result.lora.params, { rank: String(settings.lora.rank), alpha: String(settings.lora.alpha) });
    const meta: SdStudentMeta = { kind: 'sd-unet', teacher: config.teacher.model, unet: sd.unetConfig, parameterization: settings.studentParameterization, input_timestep: settings.inputTimestep };
    await writeJsonAtomically(join(ctx.workDir, 'student.json'), meta);
    // what the diffusers ecosystem loads: the EMA student as a complete pipeline (the teacher's other components
    // linked), the raw student as a unet/ folder, the LoRA teacher as a PEFT adapter folder
    writePipelineFolder(join(ctx.workDir, 'model'), config.teacher.model, sd.unetConfig, result.ema);
    writeUNetFolder(join(ctx.workDir, 'student-unet'), sd.unetConfig, result.student);
    if (result.lora) writePeftAdapter(join(ctx.workDir, 'lora-teacher'), result.lora, { baseModel: config.teacher.model });
    tf.dispose([previewNoise, previewCond]);
    return {
      student: 'student.safetensors',
      student_ema: 'student-ema.safetensors',
      ...(result.lora ? { lora_teacher: 'lora-teacher.safetensors', lora_teacher_peft: 'lora-teacher' } : {}),
      model: 'model',
      student_unet: 'student-unet',
      backend,
      steps: settings.steps,
      started_from: result.startedFrom,
      prompt_embeddings: { file: sd.embeddings.file, computed: sd.embeddings.computed },
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    sd.dispose();
    tf.disposeVariables();
  }
}
