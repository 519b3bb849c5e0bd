import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { scaledLinearSchedule, type NoiseSchedule } from '../diffusion/schedule.js';
import type { UNet, UNetConfig } from '../diffusion/unet/index.js';
import type { ParamMap } from '../nn/params.js';
import { BadInputError } from '../errors.js';
import type { TextTowerSpec } from '../features/text-tower.js';
import { textEncoderFrom, type TextEncoder } from '../features/text-encoder.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import { loadSafetensors, saveSafetensors } from '../weights/safetensors.js';

// a teacher folder: teacher.json (architecture, image shape, schedule), unet.safetensors, text-encoder.safetensors

const teacherJsonSchema = z.object({
  kind: z.literal('vsdlab-embedded-teacher'),
  image: z.object({ height: z.number().int(), width: z.number().int(), channels: z.number().int() }),
  prediction: z.literal('eps'),
  schedule: z.object({ kind: z.literal('scaled-linear'), beta_start: z.number(), beta_end: z.number(), steps: z.number().int() }),
  unet: z.custom<UNetConfig>((v) => typeof v === 'object' && v !== null),
  text_encoder: z.object({ spec: z.custom<TextTowerSpec>((v) => typeof v === 'object' && v !== null), weights: z.string() }),
  training: z.record(z.string(), z.unknown()).optional(),
});

export interface Teacher {
  dir: string;
  unet: UNet;
  text: TextEncoder;
  nullText: tf.Tensor3D;
  schedule: NoiseSchedule;
  imageShape: readonly [number, number, number];
}

export async function saveTeacher(dir: string, unet: UNet, text: TextEncoder, image: { height: number; width: number; channels: number }, training: Record<string, unknown>): Promise<void> {
  await saveSafetensors(join(dir, 'unet.safetensors'), unet.params);
  await saveSafetensors(join(dir, 'text-encoder.safetensors'), text.params);
  await writeJsonAtomically(join(dir, 'teacher.json'), {
    kind: 'vsdlab-embedded-teacher',
    image,
    prediction: 'eps',
    schedule: { kind: 'scaled-linear', beta_start: 0.00085, beta_end: 0.012, steps: 1000 },
    unet: unet.config,
    text_encoder: { spec: text.spec, weights: 'text-encoder.safetensors' },
    training,
  });
}

export function loadTeacher(dir: string): Teacher {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'teacher.json'), 'utf8'));
  } catch (e) {
    throw new BadInputError('TEACHER_UNREADABLE', `${join(dir, 'teacher.json')}: cannot read the teacher (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'train it with `vsdlab train experiments/recipes/embedded-teacher.yaml` or point teacher.model at a teacher folder');
  }
  const parsed = teacherJsonSchema.safeParse(raw);
  if (!parsed.success) throw new BadInputError('TEACHER_INVALID', `${join(dir, 'teacher.json')}: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
  const meta = parsed.data;
  const toVars = (path: string, trainable: boolean): ParamMap =>
    Object.fromEntries(Object.entries(loadSafetensors(path).tensors).map(([k, t]) => [k, tf.variable(t, trainable)]));
  const unet: UNet = { config: meta.unet, params: toVars(join(dir, 'unet.safetensors'), true) };
  const text = textEncoderFrom(meta.text_encoder.spec, toVars(join(dir, meta.text_encoder.weights), false));
  return {
    dir,
    unet,
    text,
    nullText: text.encode(['']),
    schedule: scaledLinearSchedule({ betaStart: meta.schedule.beta_start, betaEnd: meta.schedule.beta_end, numTrainTimesteps: meta.schedule.steps }),
    imageShape: [meta.image.height, meta.image.width, meta.image.channels],
  };
}
