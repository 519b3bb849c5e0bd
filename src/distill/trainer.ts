import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Xoshiro128ss } from '../data/random.js';
import { loraUpdateStream, RUN_STREAM, runStream, runTfjsSeed } from '../data/streams.js';
import { addNoise } from '../diffusion/parameterization.js';
import { guided } from '../diffusion/guidance.js';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import type { UNet } from '../diffusion/unet/unet.js';
import type { Timesteps } from '../diffusion/parameterization.js';
import { initLora, withLora, type LoraAdapter } from '../nn/lora.js';
import type { ParamMap } from '../nn/params.js';
import { BadInputError, FailureError } from '../errors.js';
import { loadSafetensors, saveSafetensors } from '../weights/safetensors.js';
import { Adam, emaDecay } from './adam.js';
import { gradientNorm, optimizerStep } from './optimizer-step.js';
import { loraLoss, vsdLoss, weightedScoreGradient } from './objectives.js';
import { scheduledRate, type LearningRateSchedule } from './learning-rate-schedule.js';
import type { LoraLossWeighting } from './lora-loss-weighting.js';
import type { ScoreGradientWeighting } from './score-gradient-weighting.js';
import { studentX0, type StudentParameterization } from './student-output.js';
import { epsOf, type DistillNet, type TeacherPasses } from './net.js';

/** What the trainer needs of a cell's `distill` settings (the schema's fields, camel-cased). */
export interface DistillSettings {
  seed: number;
  steps: number;
  batchSize: number;
  guidanceScale: number;
  tMin: number;
  tMax: number;
  gradClip: number;
  gradientWeighting: ScoreGradientWeighting;
  adam: { beta1: number; beta2: number; epsilon: number; weightDecay: number };
  studentParameterization: StudentParameterization;
  studentInit: 'teacher' | 'random';
  studentLr: number;
  studentLrSchedule: LearningRateSchedule;
  emaDecay: number;
  inputTimestep: number;
  lora: { enabled: boolean; rank: number; alpha: number; targets: string[]; lr: number; updatesPerStep: number; lossWeighting: LoraLossWeighting; guidanceScale: number; nullPromptProb: number; tMin: number; tMax: number };
  checkpointEvery: number;
  logEvery: number;
}

export interface DistillModels {
  schedule: NoiseSchedule;
  /** the architecture the teacher, the student and its EMA share */
  net: DistillNet;
  /** the frozen teacher's weights; with a LoRA adapter on top it is the LoRA teacher (one network, as the official code) */
  teacher: ParamMap;
  /** fresh weights of the teacher's architecture for `init: random` */
  initRandom(seed: number): ParamMap;
  /** frozen text encoder: captions → [B, L, D] */
  encodeText(captions: readonly string[]): tf.Tensor3D;
  /** the encoding of the empty caption, [1, L, D] */
  nullText: tf.Tensor3D;
  /** image shape the student generates, [H, W, C] */
  imageShape: readonly [number, number, number];
  /** the score gradient's teacher passes on another engine (ONNX Runtime); unset: net.forward on the teacher's weights */
  teacherPasses?: TeacherPasses;
}

export interface StepRecord {
  step: number;
  loss_vsd: number;
  grad_norm: number;
  loss_lora?: number;
  grad_norm_lora?: number;
  t_mean: number;
  [key: string]: number | undefined;
}

export interface TrainerHooks {
  log?(record: StepRecord): void;
  progress?(done: number, total: number): void;
  /** called at each checkpoint, before it is written (e.g. to save sample images) */
  onCheckpoint?(step: number, student: ParamMap, ema: ParamMap): void | Promise<void>;
  signal?: AbortSignal;
  /** a problem the run recovers from (a damaged checkpoint set aside) */
  warn?(message: string): void;
}

export interface DistillResult {
  student: ParamMap;
  ema: ParamMap;
  lora?: LoraAdapter;
  startedFrom: number;
}

/**
 * Per-step randomness derived from (run seed, step, purpose): a resumed run draws exactly what it would have, and
 * different seeds draw unrelated streams (deriveRunSeed). Exported for the seed-independence test.
 */
export const streamFor = (seed: number, step: number, purpose: number): Xoshiro128ss => runStream(seed, step, purpose);
export const tfSeed = (seed: number, step: number, purpose: number): number => runTfjsSeed(seed, step, purpose);
const randomInts = (rng: Xoshiro128ss, n: number, lo: number, hi: number): number[] => Array.from({ length: n }, () => lo + (rng.nextUint32() % (hi - lo + 1)));

/**
 * SwiftBrush distillation: one student step then one LoRA-teacher step per iteration (VSD), or the student
 * step alone with the injected noise in place of the LoRA teacher (SDS). Checkpoints to `workDir` and resumes
 * from the newest one bit for bit.
 */
export async function distill(models: DistillModels, s: DistillSettings, prompts: (step: number, batch: number) => string[], workDir: string, hooks: TrainerHooks = {}): Promise<DistillResult> {
  const { schedule, net } = models;
  const student: ParamMap = s.studentInit === 'teacher' ? cloneParams(models.teacher) : models.initRandom(s.seed);
  const ema: ParamMap = cloneParams(student);
  const lora = s.lora.enabled ? initLora(models.teacher, { rank: s.lora.rank, alpha: s.lora.alpha, targets: s.lora.targets }, s.seed) : undefined;
  const adamStudent = new Adam(s.studentLr, s.adam.beta1, s.adam.beta2, s.adam.epsilon, s.adam.weightDecay);
  const adamLora = new Adam(s.lora.lr, s.adam.beta1, s.adam.beta2, s.adam.epsilon, s.adam.weightDecay);

  let start = 0;
  // a damaged checkpoint (its checksum fails) is set aside and the one before it used, down to a fresh start: the
  // steps it held are recomputed, never resumed from wrong weights
  for (let latest = latestCheckpoint(workDir); latest; latest = latestCheckpoint(workDir)) {
    try {
      start = restore(latest, student, ema, lora, adamStudent, adamLora);
      break;
    } catch (e) {
      if (!(e instanceof BadInputError)) throw e;
      renameSync(latest, `${latest}.damaged`);
      hooks.warn?.(`${e.message}; set aside as ${latest}.damaged, resuming from an earlier checkpoint`);
    }
  }
  const [h, w, c] = models.imageShape;
  for (let step = start + 1; step <= s.steps; step++) {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
    const captions = prompts(step, s.batchSize);
    const record = tf.tidy(() => {
      const cond = models.encodeText(captions);
      const z = randomNormal([s.batchSize, h, w, c], 0, 1, 'float32', tfSeed(s.seed, step, RUN_STREAM.studentNoise));
      const t = randomInts(streamFor(s.seed, step, RUN_STREAM.scoreTimesteps), s.batchSize, s.tMin, s.tMax);
      const noise = randomNormal([s.batchSize, h, w, c], 0, 1, 'float32', tfSeed(s.seed, step, RUN_STREAM.scoreNoise));
      const studentStep = studentGradients(models, s, student, lora, { z, t, noise, cond });
      const norm = gradientNorm(studentStep.grads);
      checkFinite(step, 'student gradient norm', norm);
      checkFinite(step, 'VSD loss', studentStep.loss);
      adamStudent.lr = scheduledRate(s.studentLr, s.studentLrSchedule, s.steps, step);
      optimizerStep({ adam: adamStudent, params: student, grads: studentStep.grads, norm, maxNorm: s.gradClip, ema: { params: ema, decay: emaDecay(step, s.emaDecay) } });
      const rec: StepRecord = { step, loss_vsd: studentStep.loss, grad_norm: norm, t_mean: t.reduce((a, b) => a + b, 0) / t.length };

      if (lora) {
        let loraValue = 0;
        let loraNorm = 0;
        for (let u = 0; u < s.lora.updatesPerStep; u++) {
          // each update in its own scope: its activations and gradients go before the next one's
          tf.tidy(() => {
            const tl = randomInts(streamFor(s.seed, step, loraUpdateStream(u, 'loraTimesteps')), s.batchSize, s.lora.tMin, s.lora.tMax);
            const noiseL = randomNormal([s.batchSize, h, w, c], 0, 1, 'float32', tfSeed(s.seed, step, loraUpdateStream(u, 'loraNoise')));
            const useNull = streamFor(s.seed, step, loraUpdateStream(u, 'loraNullPrompt')).nextFloat() < s.lora.nullPromptProb;
            const condL = useNull ? tf.broadcastTo(models.nullText, [s.batchSize, ...models.nullText.shape.slice(1)]) : cond;
            const loraStep = loraGradients(models, s, lora, { x0: studentStep.x0, t: tl, noise: noiseL, cond: condL });
            const normL = gradientNorm(loraStep.grads);
            checkFinite(step, 'LoRA loss', loraStep.loss);
            checkFinite(step, 'LoRA gradient norm', normL);
            optimizerStep({ adam: adamLora, params: lora.params, grads: loraStep.grads, norm: normL, maxNorm: s.gradClip });
            loraValue = loraStep.loss;
            loraNorm = normL;
          });
        }
        rec.loss_lora = loraValue;
        rec.grad_norm_lora = loraNorm;
      }
      studentStep.x0.dispose();
      return rec;
    });
    if (step % s.logEvery === 0 || step === s.steps || step === start + 1) hooks.log?.(record);
    hooks.progress?.(step, s.steps);
    if (step % s.checkpointEvery === 0 || step === s.steps) {
      // the checkpoint is the commit point: what goes with it is written first, or a run killed between the two
      // resumes after this step and never writes it (found by the kill trials, test/reliability)
      await hooks.onCheckpoint?.(step, student, ema);
      await saveCheckpoint(workDir, step, student, ema, lora, adamStudent, adamLora);
    }
    await new Promise((r) => setImmediate(r)); // let heartbeats and signals through
  }
  adamStudent.dispose();
  adamLora.dispose();
  return { student, ema, ...(lora ? { lora } : {}), startedFrom: start };
}

/** one step's draws for the student update: latent noise z, score timesteps and noise, text embeddings */
export interface StudentStepInputs {
  z: tf.Tensor;
  t: number[];
  noise: tf.Tensor;
  cond: tf.Tensor3D;
}

/** one LoRA-teacher update's inputs: the student's x̂0 (not differentiated), its timesteps and noise, the text embeddings (or the null text) */
export interface LoraStepInputs {
  x0: tf.Tensor;
  t: number[];
  noise: tf.Tensor;
  cond: tf.Tensor;
}

/**
 * the teacher's output as ε (a v-prediction teacher converted at its own x_t), with the adapter or without; `passes`
 * computes it off tfjs where the pass is never differentiated (the score gradient's)
 */
const teacherEps =
  (models: DistillModels, adapter?: LoraAdapter, passes?: TeacherPasses) =>
  (xt: tf.Tensor, t: Timesteps, cond: tf.Tensor): tf.Tensor =>
    epsOf(models.net.prediction, models.schedule, xt, passes ? passes.forward(xt as tf.Tensor4D, t, cond as tf.Tensor3D, adapter) : models.net.forward(models.teacher, xt as tf.Tensor4D, t, cond as tf.Tensor3D, adapter), t);

/**
 * The gradient of the student's VSD loss (SDS without a LoRA teacher) by parameter name, before clipping, with the
 * loss and the student's x̂0 (the LoRA teacher trains on it). The gradients belong to the caller's tidy scope; x̂0 is
 * kept past it (made inside the loss op's own scope), so the caller disposes it.
 */
export function studentGradients(models: DistillModels, s: DistillSettings, student: ParamMap, lora: LoraAdapter | undefined, inp: StudentStepInputs): { grads: Record<string, tf.Tensor>; loss: number; x0: tf.Tensor } {
  const { schedule, net, nullText: nullCond } = models;
  const { z, t, noise, cond } = inp;
  let x0Value: tf.Tensor | undefined;
  let loss = 0;
  const scoreGradientAt = (x0: tf.Tensor): tf.Tensor => {
    x0Value = tf.keep(x0.clone());
    const xt = addNoise(schedule, x0, noise, t);
    // the frozen teacher is the same network with the adapter left out; SwiftBrush guides both at one scale
    const teacher = guided(teacherEps(models, undefined, models.teacherPasses), { scale: s.guidanceScale, nullCond })(xt, t, cond);
    const other = lora ? withLora(lora, true, () => guided(teacherEps(models, lora, models.teacherPasses), { scale: s.lora.guidanceScale, nullCond })(xt, t, cond)) : noise;
    return weightedScoreGradient(s.gradientWeighting, schedule, t, x0, xt, teacher, other);
  };
  const { grads } = tf.variableGrads(() => {
    const out = net.forward(student, z as tf.Tensor4D, s.inputTimestep, cond);
    const l = vsdLoss(studentX0(s.studentParameterization, schedule, s.inputTimestep, z, out), scoreGradientAt);
    loss = l.dataSync()[0] as number;
    return l;
  }, Object.values(student));
  if (x0Value === undefined) throw new Error('studentGradients: the score gradient was never evaluated');
  return { grads: byParamName(student, grads), loss, x0: x0Value };
}

/** the gradient of the LoRA teacher's diffusion loss by adapter parameter name, before clipping, with the loss */
export function loraGradients(models: DistillModels, s: DistillSettings, lora: LoraAdapter, inp: LoraStepInputs): { grads: Record<string, tf.Tensor>; loss: number } {
  const xt = addNoise(models.schedule, inp.x0, inp.noise, inp.t);
  let loss = 0;
  const { grads } = tf.variableGrads(() => {
    const l = loraLoss(models.schedule, inp.t, teacherEps(models, lora)(xt, inp.t, inp.cond), inp.noise, s.lora.lossWeighting);
    loss = l.dataSync()[0] as number;
    return l;
  }, Object.values(lora.params));
  return { grads: byParamName(lora.params, grads), loss };
}

function checkFinite(step: number, what: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new FailureError('DISTILL_NON_FINITE', `step ${step}: ${what} is ${value}; training stopped (lower the learning rate or check the teacher)`);
  }
}

/** tfjs returns gradients under process-global variable names; map them back to parameter names. */
function byParamName(params: ParamMap, grads: tf.NamedTensorMap): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(params)) {
    const g = grads[v.name];
    if (g) out[name] = g;
  }
  return out;
}

/** trainable copies of the weights (tfjs variable names are process-global: the map key carries the name) */
export function cloneParams(params: ParamMap): ParamMap {
  const out: ParamMap = {};
  for (const [name, p] of Object.entries(params)) out[name] = tf.variable(p.clone(), true);
  return out;
}

export const cloneNet = (net: UNet): UNet => ({ config: net.config, params: cloneParams(net.params) });

const CHECKPOINT = /^checkpoint-(\d+)\.safetensors$/;

export function latestCheckpoint(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const steps = readdirSync(dir)
    .map((f) => CHECKPOINT.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  return steps[0] === undefined ? undefined : join(dir, `checkpoint-${steps[0]}.safetensors`);
}

async function saveCheckpoint(dir: string, step: number, student: ParamMap, ema: ParamMap, lora: LoraAdapter | undefined, a: Adam, b: Adam): Promise<void> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(student)) tensors[`student/${k}`] = v;
  for (const [k, v] of Object.entries(ema)) tensors[`ema/${k}`] = v;
  for (const [k, v] of Object.entries(lora?.params ?? {})) tensors[`lora/${k}`] = v;
  const sa = a.state('adam_student/');
  const sb = b.state('adam_lora/');
  Object.assign(tensors, sa.tensors, sb.tensors);
  await saveSafetensors(join(dir, `checkpoint-${step}.safetensors`), tensors, { step: String(step), adam_student_step: String(sa.step), adam_lora_step: String(sb.step) });
}

function restore(path: string, student: ParamMap, ema: ParamMap, lora: LoraAdapter | undefined, a: Adam, b: Adam): number {
  const { tensors, metadata } = loadSafetensors(path);
  const assign = (params: ParamMap, prefix: string): void => {
    for (const [k, v] of Object.entries(params)) {
      const t = tensors[`${prefix}${k}`];
      if (!t) throw new FailureError('CHECKPOINT_MISMATCH', `${path}: no ${prefix}${k}; the checkpoint belongs to another configuration`);
      v.assign(t);
    }
  };
  assign(student, 'student/');
  assign(ema, 'ema/');
  if (lora) assign(lora.params, 'lora/');
  a.restore('adam_student/', tensors, Number(metadata.adam_student_step ?? 0));
  b.restore('adam_lora/', tensors, Number(metadata.adam_lora_step ?? 0));
  for (const t of Object.values(tensors)) t.dispose();
  return Number(metadata.step ?? 0);
}
