/**
 * Writes a synthetic set as a folder, atomically (everything goes to a sibling temp folder, which is renamed into
 * place at the end):
 *   train/shapes_train_000000000001.png ...        val/shapes_val_000001000001.png ...
 *   annotations/captions_train.json, captions_val.json     (COCO-2014 caption format)
 *   annotations/attributes_train.json, attributes_val.json (labels per image)
 *   manifest.json  (generator, options, content fingerprint, sha256 of every other file)
 * PNG bytes depend on the libpng/zlib inside sharp; the content fingerprint (pixels, captions, attributes) does not.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { BadInputError } from '../errors.js';
import { MANIFEST_NAME, filesDigest, hashTree, type DatasetManifest } from './dataset-manifest.js';
import { SPLITS, toAttributesFile, toCocoCaptionFile, type SyntheticImage, type SyntheticSet } from './synthetic-set.js';

export type SyntheticDatasetManifest = DatasetManifest & {
  options: SyntheticSet['options'];
  fingerprint: SyntheticSet['fingerprint'];
  counts: { train: number; val: number };
};

export interface WriteOptions {
  /** replace an existing folder (the old one is removed only after the new one is in place) */
  overwrite?: boolean;
  /** PNGs encoded at once */
  concurrency?: number;
}

export async function encodePng(img: SyntheticImage): Promise<Buffer> {
  return sharp(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function writeSyntheticSet(dir: string, set: SyntheticSet, opts: WriteOptions = {}): Promise<SyntheticDatasetManifest> {
  const target = resolve(dir);
  if (!opts.overwrite && (await exists(target))) {
    throw new BadInputError('DATASET_EXISTS', `${target}: already exists`, 'remove it or write with overwrite');
  }
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  try {
    await mkdir(join(tmp, 'annotations'), { recursive: true });
    for (const split of SPLITS) {
      await mkdir(join(tmp, split), { recursive: true });
      const images = set[split].images;
      for (let i = 0; i < images.length; i += concurrency) {
        await Promise.all(
          images.slice(i, i + concurrency).map(async (img) => writeFile(join(tmp, split, img.fileName), await encodePng(img))),
        );
      }
      await writeFile(join(tmp, 'annotations', `captions_${split}.json`), JSON.stringify(toCocoCaptionFile(set, split)));
      await writeFile(join(tmp, 'annotations', `attributes_${split}.json`), JSON.stringify(toAttributesFile(set, split)));
    }
    const files = await hashTree(tmp);
    const manifest: SyntheticDatasetManifest = {
      manifestVersion: 1,
      generator: set.generator,
      options: set.options,
      fingerprint: set.fingerprint,
      counts: { train: set.train.images.length, val: set.val.images.length },
      filesSha256: filesDigest(files),
      files,
    };
    await writeFile(join(tmp, MANIFEST_NAME), `${JSON.stringify(manifest, null, 1)}\n`);
    if (await exists(target)) {
      const trash = join(parent, `.${basename(target)}.old-${tag}`);
      await rename(target, trash);
      await rename(tmp, target);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    return manifest;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
