// every feature row of an image folder, stored content-addressed beside the feature cache: the reference sets of a
// study (4,000 train and 500 val images) were read back from the per-image cache (one file per image, 4,500
// opens) by FID, KID and precision/recall in every cell. Keyed by the extractor, the preprocessing, the output
// and every listed file's name and content sha256, so a folder that changed in any byte is a miss; the rows are
// the ones the per-image path gave the first time, in listing order.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MODE_CONVENTIONS, listImages, type FidMode, type ImageSetSummary } from '../extract/index.js';
import { crc32 } from '../stats/zip-archive.js';
import { featureMatrix, type FeatureMatrix } from '../stats/index.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import { sha256, sha256Parts } from '../../util/hash.js';

/** sets larger than this (rows × dims × 4 bytes) go through the per-image path only (COCO at 2048-d: 245 MB) */
export const SET_FILE_LIMIT_BYTES = 64 * 2 ** 20;

export interface SetFeaturesKey {
  extractorSha256: string;
  mode: FidMode;
  output: string;
  dims: number;
}

interface Stored {
  features: FeatureMatrix;
  summary: ImageSetSummary;
}

/**
 * The folder's features from `<cacheDir>/sets/<key>.f32` when a previous evaluation stored them, else from
 * `compute` (the per-image path), stored for the next one when every image was read. A folder that cannot be
 * listed or read is left to `compute`, which reports it.
 */
export async function setFeaturesThroughFile(folder: string, key: SetFeaturesKey, cacheDir: string, compute: () => Promise<Stored>): Promise<Stored> {
  const at = setFile(folder, key, cacheDir);
  if (at === undefined) return compute();
  const { path, files } = at;
  const hit = readSetFile(path, key.dims, files);
  if (hit) return { features: hit, summary: { folder, files: hit.rows, images: hit.rows, skipped: [], cacheHits: hit.rows, dims: key.dims } };
  const computed = await compute();
  if (computed.summary.skipped.length === 0 && computed.features.data instanceof Float32Array) await writeSetFile(path, computed.features.data);
  return computed;
}

function setFile(folder: string, key: SetFeaturesKey, cacheDir: string): { path: string; files: number } | undefined {
  let parts: string[];
  try {
    const files = listImages(folder, MODE_CONVENTIONS[key.mode].listing);
    if (files.length === 0 || files.length * key.dims * 4 > SET_FILE_LIMIT_BYTES) return undefined;
    parts = files.map((f) => `${relative(folder, f)}\0${sha256(readFileSync(f))}\n`);
  } catch {
    return undefined;
  }
  const id = sha256Parts([`vsdlab-set-features/1\0${key.extractorSha256}\0${key.mode}\0${key.output}\0${key.dims}\n`, ...parts]);
  return { path: join(cacheDir, 'sets', id.slice(0, 2), `${id}.f32`), files: parts.length };
}

/** little-endian float32 rows, then a CRC-32 of them; a missing, torn or damaged file is a miss */
function readSetFile(path: string, dims: number, rows: number): FeatureMatrix | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  const n = bytes.byteLength - 4;
  if (n !== rows * dims * 4 || crc32(bytes.subarray(0, n)) !== bytes.readUInt32LE(n)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const data = new Float32Array(n / 4);
  for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
  return featureMatrix(data, dims);
}

async function writeSetFile(path: string, rows: Float32Array): Promise<void> {
  const bytes = new Uint8Array(rows.length * 4 + 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < rows.length; i++) view.setFloat32(i * 4, rows[i]!, true);
  view.setUint32(rows.length * 4, crc32(bytes.subarray(0, rows.length * 4)), true);
  await writeFileAtomically(path, bytes);
}
