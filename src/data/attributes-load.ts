import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { jsonPath } from './coco-load.js';
import { COLOURS, POSITIONS, SHAPES, type SceneAttributes } from './synthetic-world.js';
import type { AttributesFile } from './synthetic-set.js';

const Rgb = z.tuple([z.number().int(), z.number().int(), z.number().int()]);

export const AttributesFileSchema = z.looseObject({
  generator: z.string(),
  split: z.enum(['train', 'val']),
  options: z.looseObject({}),
  images: z.array(
    z.looseObject({
      id: z.number().int(),
      file_name: z.string(),
      background: z.enum(COLOURS),
      background_rgb: Rgb,
      objects: z
        .array(
          z.looseObject({
            shape: z.enum(SHAPES),
            colour: z.enum(COLOURS),
            position: z.enum(POSITIONS),
            cx: z.number(),
            cy: z.number(),
            half_size: z.number(),
            rgb: Rgb,
          }),
        )
        .min(1)
        .max(2),
    }),
  ),
});

/** reads an attributes_<split>.json sidecar; `labels` maps image id → its attributes */
export async function loadSyntheticAttributes(path: string): Promise<{ file: AttributesFile; labels: Map<number, SceneAttributes> }> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new BadInputError('ATTRIBUTES_INVALID', `${path}: cannot read attributes (${(e as Error).message})`);
  }
  const parsed = AttributesFileSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BadInputError('ATTRIBUTES_INVALID', `${path}: ${first ? jsonPath(first.path) : '(root)'}: ${first?.message ?? 'invalid'}`);
  }
  const file = parsed.data as unknown as AttributesFile;
  const labels = new Map<number, SceneAttributes>(
    parsed.data.images.map((img) => [
      img.id,
      { background: img.background, objects: img.objects.map((o) => ({ shape: o.shape, colour: o.colour, position: o.position })) },
    ]),
  );
  return { file, labels };
}
