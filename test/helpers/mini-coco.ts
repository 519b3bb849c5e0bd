/**
 * A mini COCO-2014 val in the official format: captions_val2014.json ({info, images, licenses, annotations} with
 * the release's keys), a val2014/ folder of JPEGs named COCO_val2014_%012d.jpg, and the published caption lists
 * beside the annotations (SwiftBrush v2 dataset.json, DMD2 captions_coco14_test.txt) cut to this size.
 * Every decoding case the real data or a damaged copy can hold is in it, each at a known image id:
 * grayscale, CMYK, progressive and EXIF-rotated JPEGs, a truncated JPEG, a text file named .jpg, a listed image
 * missing from the folder and a file in the folder that no annotation lists. Deterministic: same bytes every time.
 * `scripts/make-mini-coco.js OUT` writes one for use outside the tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Xoshiro128ss } from '../../src/data/random.js';

export const MINI_COCO_CASES = {
  grayscale: 139,
  cmyk: 285,
  progressive: 632,
  exifRotated: 724,
  truncated: 776,
  notAnImage: 785,
  missing: 802,
} as const;

/** the file in val2014/ that captions_val2014.json does not list */
export const MINI_COCO_UNLISTED = 'COCO_val2014_000000999999.jpg';

export interface MiniCoco {
  root: string;
  annotations: string;
  images: string;
  /** images listed in the annotations (including the missing one) */
  imageCount: number;
  captionCount: number;
  /** images that decode (listed, present, not broken) */
  decodable: number;
}

const ORDINARY_IDS = [42, 73, 74, 133, 136, 143, 164, 192, 208, 241, 257, 294, 328, 338, 357, 359, 360, 368];
const WORDS = ['a', 'dog', 'cat', 'man', 'woman', 'red', 'blue', 'bus', 'on', 'the', 'street', 'table', 'with', 'pizza', 'near', 'tree', 'two', 'small', 'riding', 'bike'];

export const cocoFileName = (id: number): string => `COCO_val2014_${String(id).padStart(12, '0')}.jpg`;

/** smooth colour fields with a few hard-edged blocks, so JPEG and LANCZOS both have work to do */
function pixels(rng: Xoshiro128ss, width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  const [a, b, c] = [rng.uniform(0.02, 0.2), rng.uniform(0.02, 0.2), rng.uniform(0, 6.28)];
  const boxes = Array.from({ length: 3 }, () => [rng.nextInt(width), rng.nextInt(height), 4 + rng.nextInt(20), 4 + rng.nextInt(20), rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)] as const);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = 128 + 100 * Math.sin(a * x + c);
      data[o + 1] = 128 + 100 * Math.cos(b * y);
      data[o + 2] = (x * 255) / width;
      for (const [bx, by, bw, bh, r, g, bl] of boxes) {
        if (x >= bx && x < bx + bw && y >= by && y < by + bh) {
          data[o] = r;
          data[o + 1] = g;
          data[o + 2] = bl;
        }
      }
    }
  }
  return data;
}

function caption(rng: Xoshiro128ss): string {
  const n = 5 + rng.nextInt(6);
  const words = Array.from({ length: n }, () => rng.pick(WORDS));
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${rng.nextInt(3) === 0 ? '.' : ''}`;
}

export async function writeMiniCoco(root: string, seed = 2014): Promise<MiniCoco> {
  const rng = Xoshiro128ss.fromSeed(seed);
  const annotationsDir = join(root, 'annotations');
  const imagesDir = join(root, 'val2014');
  mkdirSync(annotationsDir, { recursive: true });
  mkdirSync(imagesDir, { recursive: true });
  const ids = [...ORDINARY_IDS, ...Object.values(MINI_COCO_CASES)];
  const images: Array<Record<string, unknown>> = [];
  const annotations: Array<{ image_id: number; id: number; caption: string }> = [];
  let annotationId = 9;
  for (const id of ids) {
    // landscape, portrait and square, odd and even differences of the sides (the crop offset rounding)
    const width = 40 + rng.nextInt(50);
    const height = 40 + rng.nextInt(50);
    const raw = pixels(rng, width, height);
    const rgb = () => sharp(raw, { raw: { width, height, channels: 3 } });
    let bytes: Buffer;
    switch (id) {
      case MINI_COCO_CASES.grayscale:
        bytes = await rgb().toColourspace('b-w').jpeg({ quality: 90 }).toBuffer();
        break;
      case MINI_COCO_CASES.cmyk:
        bytes = await rgb().toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer();
        break;
      case MINI_COCO_CASES.progressive:
        bytes = await rgb().jpeg({ quality: 90, progressive: true }).toBuffer();
        break;
      case MINI_COCO_CASES.exifRotated:
        bytes = await rgb().jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
        break;
      case MINI_COCO_CASES.truncated: {
        const full = await rgb().jpeg({ quality: 90 }).toBuffer();
        bytes = full.subarray(0, Math.floor(full.length / 2));
        break;
      }
      case MINI_COCO_CASES.notAnImage:
        bytes = Buffer.from('<html><body>404 Not Found</body></html>\n');
        break;
      default:
        bytes = await rgb().jpeg({ quality: 90 }).toBuffer();
    }
    if (id !== MINI_COCO_CASES.missing) writeFileSync(join(imagesDir, cocoFileName(id)), bytes);
    images.push({ license: 1 + rng.nextInt(6), file_name: cocoFileName(id), coco_url: `http://images.cocodataset.org/val2014/${cocoFileName(id)}`, height, width, date_captured: '2013-11-14 11:18:45', flickr_url: `http://farm${1 + rng.nextInt(9)}.staticflickr.com/${id}.jpg`, id });
    // five captions as a rule; COCO has images with six or seven too
    const count = id === 42 ? 6 : id === 73 ? 7 : 5;
    for (let k = 0; k < count; k++) annotations.push({ image_id: id, id: (annotationId += 1 + rng.nextInt(30)), caption: caption(rng) });
  }
  // the release lists images in its own order, not by id, and interleaves the annotations of different images
  const shuffled = rng.sampleIndices(images.length, images.length).map((i) => images[i]!);
  const interleaved = rng.sampleIndices(annotations.length, annotations.length).map((i) => annotations[i]!);
  writeFileSync(join(imagesDir, MINI_COCO_UNLISTED), await sharp(pixels(rng, 32, 32), { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer());
  const file = {
    info: { description: 'This is stable 1.0 version of the 2014 MS COCO dataset.', url: 'http://mscoco.org', version: '1.0', year: 2014, contributor: 'Microsoft COCO group', date_created: '2015-01-27 09:11:52.357475' },
    images: shuffled,
    licenses: Array.from({ length: 6 }, (_, i) => ({ url: `http://creativecommons.org/licenses/by-nc-sa/2.0/#${i + 1}`, id: i + 1, name: 'Attribution-NonCommercial-ShareAlike License' })),
    type: 'captions',
    annotations: interleaved,
  };
  const annotationsPath = join(annotationsDir, 'captions_val2014.json');
  writeFileSync(annotationsPath, JSON.stringify(file));
  // SBv2 dataset.json: one caption per image, in the images order of captions_val2014.json
  const byImage = new Map<number, string>();
  for (const a of interleaved) if (!byImage.has(a.image_id)) byImage.set(a.image_id, a.caption);
  const labels = shuffled.map((img, i) => [`${String(Math.floor(i / 1000)).padStart(5, '0')}/img${String(i).padStart(8, '0')}.png`, byImage.get(img.id as number)!]);
  writeFileSync(join(annotationsDir, 'dataset.json'), JSON.stringify({ labels }));
  // DMD2/GigaGAN list: one random caption per line
  const picks = rng.sampleIndices(interleaved.length, 12).map((i) => interleaved[i]!.caption);
  writeFileSync(join(annotationsDir, 'captions_coco14_test.txt'), picks.map((c) => `${c}\n`).join(''));
  return {
    root,
    annotations: annotationsPath,
    images: imagesDir,
    imageCount: images.length,
    captionCount: annotations.length,
    decodable: images.length - 3,
  };
}
