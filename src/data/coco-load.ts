import { readFile } from 'node:fs/promises';
import { BadInputError } from '../errors.js';
import { CocoCaptionFileSchema, type CocoCaptionAnnotation, type CocoCaptions, type CocoImage } from './coco-format.js';
import { sha256 } from '../util/hash.js';

/** `images[3].file_name` from a zod / our own path */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** validates parsed JSON as a COCO captions file and indexes it; pure, `source` only names it in errors */
export function cocoCaptionsFromJson(value: unknown, source: string, sha256?: string): CocoCaptions {
  const parsed = CocoCaptionFileSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0];
    const where = first ? jsonPath(first.path) : '(root)';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new BadInputError(
      'COCO_SHAPE_INVALID',
      `${source}: ${where}: ${first?.message ?? 'invalid'}${more}`,
      'expected a COCO-2014 caption file: {info, images: [{id, file_name, width, height}], annotations: [{id, image_id, caption}], licenses}',
    );
  }
  const { images, annotations } = parsed.data;
  const imageById = new Map<number, CocoImage>();
  images.forEach((img, i) => {
    if (imageById.has(img.id)) throw new BadInputError('COCO_SHAPE_INVALID', `${source}: images[${i}].id: duplicate image id ${img.id}`);
    imageById.set(img.id, img);
  });
  const captionsByImage = new Map<number, CocoCaptionAnnotation[]>();
  const annotationIds = new Set<number>();
  annotations.forEach((ann, i) => {
    if (annotationIds.has(ann.id)) throw new BadInputError('COCO_SHAPE_INVALID', `${source}: annotations[${i}].id: duplicate annotation id ${ann.id}`);
    annotationIds.add(ann.id);
    if (!imageById.has(ann.image_id)) {
      throw new BadInputError('COCO_SHAPE_INVALID', `${source}: annotations[${i}].image_id: no image has id ${ann.image_id}`);
    }
    const list = captionsByImage.get(ann.image_id) ?? [];
    list.push(ann);
    captionsByImage.set(ann.image_id, list);
  });
  const out: CocoCaptions = { source, images, annotations, imageById, captionsByImage };
  if (sha256 !== undefined) out.sha256 = sha256;
  return out;
}

/** reads, parses and validates a COCO captions JSON file (captions_val2014.json or one the project wrote) */
export async function loadCocoCaptions(path: string): Promise<CocoCaptions> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadInputError('COCO_UNREADABLE', `${path}: cannot read (${code ?? (e as Error).message})`, 'give the path of a captions_*.json file');
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new BadInputError('COCO_JSON_INVALID', `${path}: not valid JSON: ${(e as Error).message}`);
  }
  return cocoCaptionsFromJson(value, path, sha256(bytes));
}
