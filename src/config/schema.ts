import { z } from 'zod';
import { LORA_TARGET_GROUPS } from '../diffusion/lora-targets.js';
import { UNET_ENGINES } from '../diffusion/unet/engine-names.js';
import { LORA_LOSS_WEIGHTINGS } from '../distill/lora-loss-weighting.js';
import { LEARNING_RATE_SCHEDULES } from '../distill/learning-rate-schedule.js';
import { SCORE_GRADIENT_WEIGHTINGS } from '../distill/score-gradient-weighting.js';
import { ONNX_DEVICES, SD_ENGINE_CHOICES } from '../pipelines/sd/engine-names.js';
import { parseTemplate } from '../util/argv-template.js';

// the cell config is the contract between the experiment file and the stages; defaults follow the official
// SwiftBrush code and README (train_swiftbrush.py @ 686c231), see ../shared/reference/swiftbrush.md §1.3–1.5

const backend = z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).describe('tensor backend');
const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

/** A path to a file or folder whose content (sha256) is part of the run id. */
const asset = (description: string) => z.string().min(1).meta({ asset: true, description });
/** Fields that change how a run is done but not what it computes: left out of the run id. */
const operational = { identity: false } as const;

/** what a command stage substitutes into its argv, env and cwd (stages/command-stage.ts) */
export const COMMAND_PLACEHOLDERS = {
  distill: ['teacher', 'prompts', 'out_dir', 'work_dir', 'seed', 'steps', 'batch_size', 'guidance_scale'],
  generate: ['teacher', 'student', 'prompts', 'prompts_json', 'out_dir', 'work_dir', 'seed', 'steps', 'num_samples', 'batch_size', 'guidance_scale', 'sampler'],
} as const;

/** a user's program run as the stage instead of the built-in one: an argv list, never a shell line */
const commandSchema = (stage: keyof typeof COMMAND_PLACEHOLDERS) => {
  const known: readonly string[] = COMMAND_PLACEHOLDERS[stage];
  const template = z.string().superRefine((text, ctx) => {
    let parts;
    try {
      parts = parseTemplate(text);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return;
    }
    for (const p of parts) if ('name' in p && !known.includes(p.name)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {${p.name}}; ${stage}.command knows ${known.map((k) => `{${k}}`).join(' ')}` });
  });
  return z
    .strictObject({
      argv: z.array(template).min(1).describe(`the program and its arguments, each passed as it is (no shell); placeholders: ${known.map((k) => `{${k}}`).join(' ')}; {{ and }} are literal braces`),
      env: z.record(z.string(), template).optional().describe('environment variables added to vsdlab\'s own (values take placeholders)'),
      cwd: template.optional().describe('working directory of the program (default: where vsdlab runs)'),
    })
    .optional()
    .describe(`run your own program as the ${stage} stage; a file of the workspace named in argv joins the run id by its sha256`);
};

export const adamSchema = z.strictObject({
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  epsilon: z.number().positive().default(1e-8),
  weight_decay: z.number().min(0).default(0),
});

export const teacherSchema = z.strictObject({
  model: asset('teacher weights: a folder or file path').default('models/embedded/teacher'),
  prediction: z.enum(['eps', 'v']).default('eps').describe('what the teacher network predicts'),
});

export const loraTeacherSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('true = VSD (LoRA teacher), false = SDS (injected noise instead)'),
  rank: positiveInt.default(64),
  alpha: z.number().positive().default(108),
  targets: z.array(z.enum(LORA_TARGET_GROUPS)).min(1).default(['q', 'v']).describe('layer groups the LoRA adapts: q k v out (attention), proj, ff, time (ResBlock time projections), conv (ResBlock convs)'),
  learning_rate: z.number().positive().default(1e-3),
  loss_weighting: z.enum(LORA_LOSS_WEIGHTINGS).default('alpha-bar').describe('weighting of the LoRA teacher\'s ε-MSE over t: alpha-bar = × ᾱ_t (SwiftBrush), eps = plain (DMD2), v = v-MSE = ÷ ᾱ_t (ProlificDreamer)'),
  updates_per_step: positiveInt.default(1).describe('LoRA-teacher updates per student update, each on fresh timesteps and noise: SwiftBrush 1; DMD2 updates its fake score 5 times (two time-scale update rule)'),
  guidance_scale: z.number().min(0).optional().describe('CFG scale of the LoRA teacher inside the VSD gradient; default distill.guidance_scale (SwiftBrush); threestudio and DMD2 use 1'),
  null_prompt_prob: probability.default(0.1).describe('chance per iteration that the LoRA step uses the null text'),
  t_min: z.number().int().min(0).default(0),
  t_max: z.number().int().min(0).default(999),
});

export const studentSchema = z.strictObject({
  parameterization: z.enum(['eps', 'x0', 'v']).default('eps').describe('eps: x0 = (z - σ_T ε̂)/α_T at t = T-1 (paper)'),
  init: z.enum(['teacher', 'random']).default('teacher'),
  learning_rate: z.number().positive().default(1e-6),
  learning_rate_schedule: z.enum(LEARNING_RATE_SCHEDULES).default('constant').describe('constant (SwiftBrush), or cosine: from learning_rate down to 0 at the last distillation step'),
  ema_decay: z.number().min(0).lt(1).default(0.9999),
  input_timestep: z.number().int().min(0).default(999),
});

export const distillSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('false = evaluate the teacher itself (no student)'),
  prompts: asset('captions to distil on: a COCO captions JSON or a .txt with one caption per line').default('data/synthetic-shapes/annotations/captions_train.json'),
  steps: positiveInt.default(1000),
  batch_size: positiveInt.default(16),
  guidance_scale: z.number().min(0).default(4.5).describe('CFG scale of the frozen and the LoRA teacher'),
  t_min: z.number().int().min(0).default(20),
  t_max: z.number().int().min(0).default(980),
  grad_clip: z.number().positive().default(1.0),
  gradient_weighting: z.enum(SCORE_GRADIENT_WEIGHTINGS).default('sigma-squared').describe('weighting of the student\'s score gradient: sigma-squared = w(t) = 1 − ᾱ_t on the ε difference (SwiftBrush), dmd = x̂0 difference ÷ per-sample mean |x̂0 − x̂0_teacher| (DMD, DMD2)'),
  adam: adamSchema.prefault({}),
  lora_teacher: loraTeacherSchema.prefault({}),
  student: studentSchema.prefault({}),
  checkpoint_every: positiveInt.default(500).meta(operational),
  log_every: positiveInt.default(10).meta(operational),
  backend: backend.default('auto'),
  // optional without defaults, so cells that do not name them keep their ids
  gradient_checkpointing: z.boolean().optional().meta({ ...operational, description: 'diffusers teachers: recompute each UNet block in the backward pass instead of keeping its activations (bit-identical gradients, about 10 % more compute, a quarter of the peak memory; see `vsdlab memory`)' }),
  attention_slice: positiveInt.optional().describe('diffusers teachers: attention in slices of this many (batch · head) rows, as diffusers set_attention_slice (the score tensor never exists whole)'),
  teacher_engine: z.enum(UNET_ENGINES).optional().describe('embedded teachers: the engine of the teacher passes inside the student\'s score gradient (the frozen teacher\'s CFG pass, the LoRA teacher\'s pass with its current weights), never differentiated: tfjs, or onnx (ONNX Runtime on the CPU; numbers within float rounding of tfjs); unset = tfjs. The student and the LoRA teacher\'s own training pass stay on tfjs'),
  command: commandSchema('distill'),
});

export const generateSchema = z.strictObject({
  sampler: z.enum(['one-step', 'ddim', 'ddpm', 'dpm-solver++']).default('one-step'),
  steps: positiveInt.default(1),
  guidance_scale: z.number().min(0).default(4.5),
  num_samples: positiveInt.default(30000).describe('number of captions to generate for'),
  batch_size: positiveInt.default(16),
  use_ema: z.boolean().default(true),
  shards: positiveInt.default(1).meta({ ...operational, description: 'generate the images in this many shards of whole batches, one process each (a pool worker, or a Slurm array task with `vsdlab run --shard-executor slurm`), writing into one folder: the same bytes for any count' }),
  // optional without defaults, so cells that do not name them keep their ids
  engine: z.enum(SD_ENGINE_CHOICES).optional().describe('a diffusers SD teacher: tfjs (its safetensors) or onnx (its Optimum ONNX export); unset = auto: onnx where unet/model.onnx exists. An embedded teacher or student: tfjs, or onnx (its UNet exported to ONNX Runtime; images within float rounding of tfjs); unset = auto = tfjs'),
  device: z.enum(ONNX_DEVICES).optional().describe('the onnx engine\'s execution provider; unset = auto: CUDA where the CUDA build of onnxruntime-node is installed'),
  one_step_alpha_bar: z.number().gt(0).lt(1).optional().describe('a diffusers teacher\'s one-step sample: ᾱ at t = T − 1 used for x̂0 instead of the schedule\'s (SwiftBrush\'s infer.py hard-codes 0.0047); unset = the schedule\'s'),
  command: commandSchema('generate'),
});

const captionsSchema = z.strictObject({
  annotations: asset('COCO-format captions JSON'),
  protocol: z.enum(['first-caption-per-image', 'gigagan-random-30k', 'sbv2-first-30k', 'random-n']).default('gigagan-random-30k'),
  caption_list: asset('file with the exact caption list a protocol names').optional(),
  count: positiveInt.default(30000),
  seed: z.number().int().min(0).default(0).describe('caption draw seed for random-n (fixed across cells, not the cell seed)'),
  prompt_prefix: z.string().default(''),
});

const fidMetric = z.strictObject({
  name: z.literal('fid'),
  mode: z.enum(['clean', 'legacy-pytorch', 'legacy-tensorflow']).default('clean'),
  extractor: asset('ONNX feature extractor'),
  reference: asset('reference image folder or .npz statistics'),
  dims: positiveInt.default(2048),
  resolution: positiveInt.optional().describe('resize generated images to this size first (e.g. 256)'),
});
const kidMetric = z.strictObject({
  name: z.literal('kid'),
  mode: z.enum(['clean', 'legacy-pytorch', 'legacy-tensorflow']).default('clean'),
  extractor: asset('ONNX feature extractor'),
  reference: asset('reference image folder or .npz statistics'),
  subsets: positiveInt.default(100),
  subset_size: positiveInt.default(1000),
});
const prMetric = z.strictObject({
  name: z.literal('precision-recall'),
  extractor: asset('ONNX feature extractor'),
  reference: asset('reference image folder or .npz statistics'),
  k: positiveInt.default(3),
});
const clipMetric = z.strictObject({
  name: z.literal('clip-score'),
  convention: z.enum(['cosine-mean', 'torchmetrics']).default('cosine-mean'),
  image_encoder: asset('ONNX image tower'),
  text_encoder: asset('ONNX text tower'),
  tokenizer: asset('tokenizer.json'),
  prefix: z.string().default('A photo depicts '),
});
const faithfulnessMetric = z.strictObject({
  name: z.literal('faithfulness'),
  classifier: asset('ONNX attribute classifier'),
});

export const metricSchema = z.discriminatedUnion('name', [fidMetric, kidMetric, prMetric, clipMetric, faithfulnessMetric]);

export const evaluateSchema = z.strictObject({
  captions: captionsSchema.optional(),
  metrics: z.array(metricSchema).default([]),
  batch_size: positiveInt.default(32).meta(operational),
  shards: positiveInt.default(1).meta({ ...operational, description: 'FID, KID, precision/recall and CLIP score read the generated images in this many shards of whole batches, one process each (a pool worker, or a Slurm array task with `vsdlab run --shard-executor slurm`), merged exactly' }),
});

export const cellSchema = z.strictObject({
  seed: z.number().int().min(0).default(0),
  teacher: teacherSchema.prefault({}),
  distill: distillSchema.prefault({}),
  generate: generateSchema.prefault({}),
  evaluate: evaluateSchema.prefault({}),
  // comment-like fields: kept in the resolved config, never part of the run id (see plan/identity.ts)
  notes: z.string().optional().meta(operational),
  tags: z.array(z.string()).optional().meta(operational),
});

/** A fully resolved cell: every default filled in. */
export type CellConfig = z.output<typeof cellSchema>;
/** What a user may write for a cell (every field optional). */
export type CellInput = z.input<typeof cellSchema>;

const dottedKey = z.string().regex(/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/i, 'must be a dotted key like distill.steps');
const scalarOrObject = z.unknown();

/** The experiment file. Cell values are checked after expansion against `cellSchema`. */
export const experimentSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  extends: z.string().min(1).optional().describe('another experiment file whose values this one overrides'),
  base: z.record(z.string(), scalarOrObject).optional().describe('fields every cell starts from'),
  matrix: z.record(dottedKey, z.array(scalarOrObject)).optional().describe('dotted key → values; Cartesian product'),
  zip: z
    .record(z.string().min(1), z.record(dottedKey, z.array(scalarOrObject)))
    .optional()
    .describe('named groups of dotted keys whose lists vary together'),
  exclude: z.array(z.record(dottedKey, scalarOrObject)).optional().describe('partial assignments; matching cells are dropped'),
  include: z.array(z.record(dottedKey, scalarOrObject)).optional().describe('extra cells (dotted assignments over base)'),
  seeds: z.array(z.number().int().min(0)).optional().describe('one more dimension, aggregated over in reports'),
  slug: z.array(dottedKey).optional().describe('keys used for readable cell names (default: the varying keys)'),
});

export type ExperimentFile = z.output<typeof experimentSchema>;
