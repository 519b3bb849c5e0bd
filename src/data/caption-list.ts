/**
 * Published caption lists that fix a COCO-30K prompt set (metrics.md §4, swiftbrush.md §3):
 * - DMD2 / GigaGAN random-30K: `main/coco_eval/captions_coco14_test.txt` of tianweiy/DMD2, one caption per line,
 *   30,000 lines (text copy of `captions_coco14_test.pkl`). No seed exists for it: the list is the protocol.
 * - SwiftBrush v2 first-30K: `dataset.json` of PhiHoc/SwiftBrushV2, `{"labels": [[png, caption], ...]}`, 40,504
 *   entries, one per COCO-2014 val image in the order of captions_val2014.json's `images`; the protocol is its
 *   first 30,000 entries.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { jsonPath } from './coco-load.js';
import { sha256 as sha256Of } from '../util/hash.js';

export interface CaptionList {
  source: string;
  sha256: string;
  format: 'lines' | 'sbv2-json';
  captions: string[];
  /** per-caption names given by the list (SBv2's generated-image paths), when it has them */
  names?: string[];
}

/** the files as published, to tell a user whether they hold the same list the papers used */
export const KNOWN_CAPTION_LISTS = {
  'dmd2-captions-coco14-test-txt': {
    url: 'https://github.com/tianweiy/DMD2/blob/main/main/coco_eval/captions_coco14_test.txt',
    sha256: 'edabd2a556026cbf5d36a5fffa35ad43d7ba71b72f6d640b727c1edefb7f1945',
    captions: 30000,
  },
  'sbv2-dataset-json': {
    url: 'https://github.com/PhiHoc/SwiftBrushV2/blob/main/dataset.json',
    sha256: '94a4cf8ccda5fa251960a9bad3e09c06988e49ac7da98f57c167f37c77e7ed12',
    captions: 40504,
  },
} as const;

const Sbv2Schema = z.object({ labels: z.array(z.tuple([z.string(), z.string()])) });

/** parses a caption list from its bytes; pure apart from hashing */
export function parseCaptionList(bytes: Uint8Array, source: string): CaptionList {
  const sha256 = sha256Of(bytes);
  let text: string;
  try {
    // Buffer's decoder would turn bytes of another encoding into U+FFFD silently, and the captions into other captions
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BadInputError('CAPTION_LIST_ENCODING', `${source}: not UTF-8 text`, 'convert it, e.g. `iconv -f latin1 -t utf-8`');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trimStart().startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // JSON.parse quotes the file's bytes: control characters would break the one-line message
      throw new BadInputError('CAPTION_LIST_INVALID', `${source}: not valid JSON: ${(e as Error).message.replace(/[\u0000-\u001f\u007f]+/g, ' ')}`);
    }
    const parsed = Sbv2Schema.safeParse(value);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new BadInputError(
        'CAPTION_LIST_INVALID',
        `${source}: ${first ? jsonPath(first.path) : '(root)'}: ${first?.message ?? 'invalid'}`,
        'expected SwiftBrush v2 dataset.json: {"labels": [["00000/img00000000.png", "caption"], ...]}',
      );
    }
    const labels = parsed.data.labels;
    return { source, sha256, format: 'sbv2-json', captions: labels.map((l) => l[1]), names: labels.map((l) => l[0]) };
  }
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const empty = lines.findIndex((l) => l.trim() === '');
  if (empty >= 0) throw new BadInputError('CAPTION_LIST_INVALID', `${source}:${empty + 1}: empty caption line`);
  return { source, sha256, format: 'lines', captions: lines };
}

/** reads a caption list file: one caption per line (DMD2/GigaGAN) or SBv2's dataset.json */
export async function readCaptionList(path: string): Promise<CaptionList> {
  if (extname(path).toLowerCase() === '.pkl') {
    throw new BadInputError(
      'CAPTION_LIST_INVALID',
      `${path}: pickle files are not read`,
      'use the text copy main/coco_eval/captions_coco14_test.txt from tianweiy/DMD2 (same 30,000 captions, one per line)',
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new BadInputError('CAPTION_LIST_INVALID', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseCaptionList(bytes, path);
}
