// One SwiftBrush step on the tiny diffusers fixture, set up from the inputs tools/sd/make_distill_goldens.py
// recorded (test/golden/sd/distill_inputs.json), and its per-case goldens.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { parseSchedulerConfig, scheduleFromConfig } from '../../src/diffusion/scheduler-config.js';
import type { PredictionType } from '../../src/diffusion/parameterization.js';
import type { DistillModels, DistillSettings } from '../../src/distill/trainer.js';
import type { StudentParameterization } from '../../src/distill/student-output.js';
import { readPipelineFolder } from '../../src/models/sd/pipeline-folder.js';
import { loadSdUNetParams } from '../../src/models/sd/unet-params.js';
import { sdDistillNet } from '../../src/pipelines/sd/distill-net.js';
import type { LoraAdapter } from '../../src/nn/lora.js';
import type { ParamMap } from '../../src/nn/params.js';
import { fromRoot } from '../helpers/paths.js';

interface GoldenTensor {
  shape: number[];
  data: number[];
}
export interface TensorSummary {
  norm: number;
  sum: number;
  index: number[];
  value: number[];
}
export interface StepGolden {
  meta: { case: { lora: boolean; student: StudentParameterization; prediction: PredictionType } };
  loss_vsd: number;
  loss_lora?: number;
  student_grad_norm: number;
  student: Record<string, TensorSummary>;
  tensors: Record<string, GoldenTensor>;
}
interface InputsGolden {
  meta: { settings: { guidance_scale: number; lora_rank: number; lora_alpha: number; lora_targets: string[]; input_timestep: number; score_timesteps: number[]; lora_timesteps: number[] } };
  tensors: Record<string, GoldenTensor>;
}

const read = <T>(name: string): T => JSON.parse(readFileSync(fromRoot('test/golden/sd', `${name}.json`), 'utf8')) as T;
export const readStepGolden = (name: string): StepGolden => read<StepGolden>(`distill_${name}`);
export const FIXTURE = fromRoot('test/fixtures/sd/tiny-sd2');

const tensorOf = (t: GoldenTensor): tf.Tensor => tf.tensor(Float32Array.from(t.data), t.shape);
const nhwc = (t: GoldenTensor): tf.Tensor4D => tf.tidy(() => tensorOf(t).transpose([0, 2, 3, 1]) as tf.Tensor4D);

/** a layer weight's gradient in torch's layout (the goldens'): conv [out, in, kh, kw], linear [out, in] */
export const torchLayout = (name: string, g: tf.Tensor): tf.Tensor => (!name.endsWith('.w') ? g : g.rank === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g.rank === 2 ? tf.transpose(g) : g);

export interface SdStep {
  models: DistillModels;
  settings: DistillSettings;
  teacher: ParamMap;
  lora: LoraAdapter;
  inputs: { z: tf.Tensor4D; noise: tf.Tensor4D; cond: tf.Tensor3D; loraNoise: tf.Tensor4D; t: number[]; loraT: number[] };
}

/** the fixture's UNet as teacher, the recorded LoRA (PEFT's A [r, in], B [out, r] as the layers' [in, r], [r, out]) and inputs */
export function sdStep(prediction: PredictionType, parameterization: StudentParameterization, loraEnabled: boolean): SdStep {
  const g = read<InputsGolden>('distill_inputs');
  const st = g.meta.settings;
  const folder = readPipelineFolder(FIXTURE);
  const teacher = loadSdUNetParams(folder.unet, false);
  const loraParams: ParamMap = {};
  for (const [key, t] of Object.entries(g.tensors)) {
    const m = /^lora\/(.+)\.lora_([AB])$/.exec(key);
    if (m) loraParams[`${m[1]}.w.lora_${m[2]!.toLowerCase()}`] = tf.variable(tf.tidy(() => tf.transpose(tensorOf(t))), true);
  }
  const lora: LoraAdapter = { config: { rank: st.lora_rank, alpha: st.lora_alpha, targets: st.lora_targets }, params: loraParams, enabled: true };
  const schedule = scheduleFromConfig(parseSchedulerConfig(folder.scheduler.config, folder.scheduler.configPath));
  const nullText = tensorOf(g.tensors.null!) as tf.Tensor3D;
  const z = nhwc(g.tensors.z!);
  const models: DistillModels = {
    schedule,
    net: sdDistillNet(folder.unet.config, prediction),
    teacher,
    initRandom: () => {
      throw new Error('the golden step starts from the teacher');
    },
    encodeText: () => {
      throw new Error('the golden step uses recorded text embeddings');
    },
    nullText,
    imageShape: [z.shape[1], z.shape[2], z.shape[3]],
  };
  const settings: DistillSettings = {
    seed: 0,
    steps: 1,
    batchSize: z.shape[0],
    guidanceScale: st.guidance_scale,
    tMin: 20,
    tMax: 980,
    gradClip: 1,
    gradientWeighting: 'sigma-squared',
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
    studentParameterization: parameterization,
    studentInit: 'teacher',
    studentLr: 1e-6,
    studentLrSchedule: 'constant',
    emaDecay: 0.999,
    inputTimestep: st.input_timestep,
    lora: { enabled: loraEnabled, rank: st.lora_rank, alpha: st.lora_alpha, targets: st.lora_targets, lr: 1e-3, updatesPerStep: 1, lossWeighting: 'alpha-bar', guidanceScale: st.guidance_scale, nullPromptProb: 0.1, tMin: 0, tMax: 999 },
    checkpointEvery: 1,
    logEvery: 1,
  };
  return {
    models,
    settings,
    teacher,
    lora,
    inputs: { z, noise: nhwc(g.tensors.noise!), cond: tensorOf(g.tensors.cond!) as tf.Tensor3D, loraNoise: nhwc(g.tensors.lora_noise!), t: st.score_timesteps, loraT: st.lora_timesteps },
  };
}
