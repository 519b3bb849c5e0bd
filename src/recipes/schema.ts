import { z } from 'zod';
import { LEARNING_RATE_SCHEDULES } from '../distill/learning-rate-schedule.js';

// recipes make the embedded world's assets (feature networks, teacher); their outputs are committed under
// models/ with sha256, so `npm start` never retrains them

const positiveInt = z.number().int().positive();
const backend = z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto');

const fitSchema = z.strictObject({
  epochs: positiveInt,
  batch_size: positiveInt,
  learning_rate: z.number().positive(),
  seed: z.number().int().min(0).default(0),
  noise_std_max: z.number().min(0).default(0).describe('pixel-noise augmentation: per-image std drawn from U(0, this), normalised units'),
});

export const extractorsRecipeSchema = z.strictObject({
  kind: z.literal('embedded-extractors'),
  description: z.string().optional(),
  dataset: z.string().min(1).describe('synthetic dataset recipe (datasets/*.yaml)'),
  out: z.string().min(1).describe('folder for the ONNX models, weights and manifest'),
  backend,
  perception: fitSchema,
  clip: fitSchema,
});

export const teacherRecipeSchema = z.strictObject({
  kind: z.literal('embedded-teacher'),
  description: z.string().optional(),
  dataset: z.string().min(1),
  text_encoder: z
    .strictObject({ length: positiveInt, width: positiveInt, layers: positiveInt, heads: positiveInt, mlp: positiveInt })
    .describe('a transformer text encoder trained jointly with the UNet (as GLIDE does), frozen afterwards'),
  out: z.string().min(1),
  backend,
  unet: z.strictObject({
    base_channels: positiveInt,
    channel_mults: z.array(positiveInt).min(1),
    res_blocks: positiveInt,
    attention_levels: z.array(z.boolean()).min(1),
    heads: positiveInt,
    groups: positiveInt,
    patch_size: positiveInt.default(1).describe('pixels per side folded into channels (space-to-depth) before the UNet'),
    body_predicts: z.enum(['eps', 'v']).default('eps').describe('what the UNet body predicts; the teacher always answers ε (v: ε = σ x_t + α v̂, trained with the v loss)'),
  }),
  init_from: z
    .string()
    .min(1)
    .optional()
    .describe('a teacher folder with the same architecture to start from (a fine-tuning stage); its EMA starts there too'),
  steps: positiveInt,
  batch_size: positiveInt,
  learning_rate: z.number().positive(),
  learning_rate_schedule: z.enum(LEARNING_RATE_SCHEDULES).default('constant').describe('cosine: from learning_rate down to 0 at the last step'),
  null_prompt_prob: z.number().min(0).max(1).default(0.1),
  ema_decay: z.number().min(0).lt(1).default(0.999),
  checkpoint_every: positiveInt.default(200),
  seed: z.number().int().min(0).default(0),
});

export const recipeSchema = z.discriminatedUnion('kind', [extractorsRecipeSchema, teacherRecipeSchema]);
export type Recipe = z.output<typeof recipeSchema>;
export type ExtractorsRecipe = z.output<typeof extractorsRecipeSchema>;
export type TeacherRecipe = z.output<typeof teacherRecipeSchema>;
