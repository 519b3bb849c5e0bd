/**
 * Checks a COCO-2014 val copy against the official release before anything is derived from it: the image and
 * caption counts (any other count is stated, never silently accepted), images the annotations list but the
 * folder lacks, and files in the folder the annotations do not list, each by name.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MissingAssetError } from '../errors.js';
import type { CocoCaptions } from '../data/index.js';

/** captions_val2014.json as released (cocodataset.org, 2014 Train/Val annotations) */
export const OFFICIAL_VAL2014 = { images: 40504, captions: 202654 } as const;

export interface CocoValidation {
  expected: { images: number; captions: number };
  found: { images: number; captions: number; files: number; uncaptioned: number };
  /** listed in the annotations, not in the folder (file names) */
  missing: string[];
  /** in the folder, not listed (file names) */
  unlisted: string[];
  /** one line each: count differences, missing and unlisted files */
  warnings: string[];
}

/** the regular files of the images folder (flat, as val2014/ is), hidden files left out */
export function listImageFolder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new MissingAssetError('COCO_IMAGES_MISSING', `${dir}: cannot read the images folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'give the folder of the val2014 images (--images val2014/)');
  }
  return names.filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isFile()).sort();
}

const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

const someNames = (names: readonly string[]): string => `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, … (${names.length - 5} more)` : ''}`;

export function validateCoco(coco: CocoCaptions, folderFiles: readonly string[], expected: { images: number; captions: number } = OFFICIAL_VAL2014): CocoValidation {
  const listed = new Set(coco.images.map((i) => i.file_name));
  const present = new Set(folderFiles);
  const missing = coco.images.map((i) => i.file_name).filter((f) => !present.has(f)).sort();
  const unlisted = folderFiles.filter((f) => !listed.has(f));
  const uncaptioned = coco.images.filter((i) => (coco.captionsByImage.get(i.id)?.length ?? 0) === 0).length;
  const warnings: string[] = [];
  if (coco.images.length !== expected.images) {
    warnings.push(`${coco.source} lists ${plural(coco.images.length, 'image')}; the official COCO-2014 val release has ${expected.images.toLocaleString('en-US')}`);
  }
  if (coco.annotations.length !== expected.captions) {
    warnings.push(`${coco.source} has ${plural(coco.annotations.length, 'caption')}; the official COCO-2014 val release has ${expected.captions.toLocaleString('en-US')}`);
  }
  if (uncaptioned > 0) warnings.push(`${coco.source}: ${plural(uncaptioned, 'image')} without a caption`);
  if (missing.length > 0) warnings.push(`${plural(missing.length, 'listed image')} not in the images folder: ${someNames(missing)}`);
  if (unlisted.length > 0) warnings.push(`${plural(unlisted.length, 'file')} in the images folder not listed in ${coco.source} (left out): ${someNames(unlisted)}`);
  return {
    expected: { ...expected },
    found: { images: coco.images.length, captions: coco.annotations.length, files: folderFiles.length, uncaptioned },
    missing,
    unlisted,
    warnings,
  };
}
