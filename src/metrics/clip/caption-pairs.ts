// which caption goes with which image: a captions.txt (one line per image, images in natural order, as
// GigaGAN's evaluation pairs them) or a SwiftBrush-style dataset.json {"labels": [[relative path, caption], ...]}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../../errors.js';
import { listImages } from '../extract/index.js';

export interface CaptionPairs {
  images: string[];
  captions: string[];
}

const DIGITS = /(\d+)/;

/** natsort-like order: digit runs compare as numbers ("img2" before "img10"). */
export function naturalCompare(a: string, b: string): number {
  const x = a.split(DIGITS);
  const y = b.split(DIGITS);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === q) continue;
    if (i % 2 === 1) {
      const d = Number(p) - Number(q);
      if (d !== 0) return d;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

export function captionPairs(imageFolder: string, captionsPath: string): CaptionPairs {
  let text: string;
  try {
    text = readFileSync(captionsPath, 'utf8');
  } catch (err) {
    throw new BadInputError('CAPTIONS_UNREADABLE', `cannot read captions ${captionsPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (captionsPath.toLowerCase().endsWith('.json')) {
    let labels: unknown;
    try {
      labels = (JSON.parse(text) as { labels?: unknown }).labels;
    } catch (err) {
      throw new BadInputError('CAPTIONS_BAD', `${captionsPath} is not JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(labels) || !labels.every((l) => Array.isArray(l) && l.length === 2 && typeof l[0] === 'string' && typeof l[1] === 'string')) {
      throw new BadInputError('CAPTIONS_BAD', `${captionsPath}: expected {"labels": [["image path", "caption"], ...]}`);
    }
    const pairs = labels as Array<[string, string]>;
    return { images: pairs.map(([p]) => join(imageFolder, p)), captions: pairs.map(([, c]) => c) };
  }
  const captions = text.split(/\r?\n/);
  while (captions.length > 0 && captions[captions.length - 1] === '') captions.pop();
  const images = listImages(imageFolder, 'clean-fid').sort(naturalCompare);
  if (images.length !== captions.length) {
    throw new BadInputError('CLIP_PAIRS_MISMATCH', `${imageFolder} holds ${images.length} images but ${captionsPath} has ${captions.length} captions`, 'one caption line per image, in natural file-name order');
  }
  return { images, captions };
}
