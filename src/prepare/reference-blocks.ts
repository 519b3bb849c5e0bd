/**
 * One block of images through the reference protocols: read, decode as Pillow's `Image.open(f).convert('RGB')`
 * does (EXIF orientation ignored, grey replicated, CMYK by Pillow's rule; src/metrics/image/decode.ts), square
 * centre crop + LANCZOS per resize protocol, written as PNG; with an extractor, the network input of each FID
 * mode made from that image and its features kept in block order. The block's record is written last, so a
 * record on disk means every file it names is complete (each is written to a temporary name and renamed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { BadInputError } from '../errors.js';
import { decodeImage, preprocess, type RgbImage } from '../metrics/image/index.js';
import type { OnnxExtractor } from '../metrics/extract/index.js';
import { writeFileAtomically, writeJsonAtomically } from '../util/atomic-write.js';
import { sha256 } from '../util/hash.js';
import { applyResizeProtocol, encodePng, type ResizeProtocolName } from './resize-protocols.js';
import { blockName } from './shards.js';

export const REFERENCE_FID_MODES = ['clean', 'legacy-pytorch', 'legacy-tensorflow'] as const;
export type ReferenceFidMode = (typeof REFERENCE_FID_MODES)[number];

export interface PlannedImage {
  id: number;
  fileName: string;
}

export interface BlockImageRecord {
  file_name: string;
  id: number;
  status: 'ok' | 'missing' | 'skipped';
  reason?: string;
  /** what the decoder met that changes pixels or is worth knowing (grayscale, cmyk, exif-orientation, ...) */
  notes?: string[];
  source_sha256?: string;
  /** resize protocol → sha256 of the PNG written */
  outputs?: Partial<Record<ResizeProtocolName, string>>;
}

export interface BlockRecord {
  block: number;
  resize: ResizeProtocolName[];
  images: BlockImageRecord[];
}

export interface BlockWork {
  outDir: string;
  imagesDir: string;
  resize: readonly ResizeProtocolName[];
  /** with an extractor: the FID modes whose features this block keeps */
  features?: { extractor: OnnxExtractor; modes: readonly ReferenceFidMode[]; batchSize: number };
  signal?: AbortSignal;
  onImage?: () => void;
}

export const recordPath = (outDir: string, block: number): string => join(outDir, 'work', 'blocks', `${blockName(block)}.json`);

export const featurePath = (outDir: string, extractorSha256: string, resize: ResizeProtocolName, mode: ReferenceFidMode, block: number): string =>
  join(outDir, 'work', 'features', extractorSha256.slice(0, 16), resize, mode, `${blockName(block)}.f32`);

/** references/<protocol>/<file name with .png>, as SwiftBrush v2's resize.py names them */
export const referenceFile = (resize: ResizeProtocolName, fileName: string): string => `references/${resize}/${fileName.replace(/\.[^./]*$/, '')}.png`;

export function readBlockRecord(outDir: string, block: number): BlockRecord | undefined {
  const path = recordPath(outDir, block);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as BlockRecord;
}

/** whether the block already holds every output asked for */
export function blockComplete(outDir: string, block: number, work: Pick<BlockWork, 'resize' | 'features'>): boolean {
  const record = readBlockRecord(outDir, block);
  if (!record || !work.resize.every((r) => record.resize.includes(r))) return false;
  if (!work.features) return true;
  const sha = work.features.extractor.sha256;
  return work.resize.every((r) => work.features!.modes.every((m) => existsSync(featurePath(outDir, sha, r, m, block))));
}

/** header-level facts about a source file that Pillow's convert('RGB') handles silently, and its format */
async function decodeNotes(bytes: Buffer): Promise<{ notes: string[]; format?: string }> {
  try {
    const meta = await sharp(bytes, { failOn: 'none' }).metadata();
    const notes: string[] = [];
    if (meta.space === 'b-w' || meta.space === 'grey16' || meta.channels === 1) notes.push('grayscale');
    if (meta.space === 'cmyk') notes.push('cmyk');
    if (meta.hasAlpha) notes.push('alpha-dropped');
    if (meta.isProgressive) notes.push('progressive');
    if (meta.orientation !== undefined && meta.orientation !== 1) notes.push(`exif-orientation-${meta.orientation}-ignored`);
    return meta.format ? { notes, format: meta.format } : { notes };
  } catch {
    return { notes: [] }; // BMP/PPM (read by hand), or not an image
  }
}

/**
 * Why a file could not be decoded, from the bytes alone: libvips' own message is not usable here, as its error
 * buffer is shared between the decodes running at once (a second one can empty it: "Unknown error"), and the
 * manifest must not depend on timing.
 */
function undecodableReason(bytes: Buffer, format: string | undefined): string {
  const isJpeg = bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isJpeg && !(bytes.length >= 4 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9)) {
    return `truncated JPEG: its ${bytes.length} bytes end before the end-of-image marker`;
  }
  if (format === undefined) return `not an image: no PNG, JPEG, WebP, TIFF, GIF, BMP or PPM/PGM data in its ${bytes.length} bytes`;
  return `corrupt ${format} data: the decoder refused it`;
}

const LOOKAHEAD = 4;

type Loaded =
  | { kind: 'missing'; reason: string }
  | { kind: 'skipped'; reason: string; notes: string[]; sha: string }
  | { kind: 'ok'; rgb: RgbImage; notes: string[]; sha: string };

async function loadImage(dir: string, image: PlannedImage): Promise<Loaded> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, image.fileName));
  } catch (e) {
    return { kind: 'missing', reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const { notes, format } = await decodeNotes(bytes);
  const sha = sha256(bytes);
  try {
    return { kind: 'ok', rgb: await decodeImage(bytes, image.fileName), notes, sha };
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    return { kind: 'skipped', reason: undecodableReason(bytes, format), notes, sha };
  }
}


/** features of one (resize, mode) pair, batched through the network, rows kept in image order */
class FeatureRows {
  private pending: Float32Array[] = [];
  private readonly rows: Float32Array[] = [];
  constructor(
    private readonly extractor: OnnxExtractor,
    private readonly batchSize: number,
  ) {}

  async push(planar: Float32Array): Promise<void> {
    this.pending.push(planar);
    if (this.pending.length >= this.batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const size = this.extractor.inputSize;
    const batch = new Float32Array(this.pending.length * size);
    this.pending.forEach((p, i) => batch.set(p, i * size));
    const out = (await this.extractor.run(batch, this.pending.length))[this.extractor.outputs[0]!]!;
    const dims = out.length / this.pending.length;
    for (let r = 0; r < this.pending.length; r++) {
      const row = out.slice(r * dims, (r + 1) * dims);
      for (let j = 0; j < dims; j++) {
        if (!Number.isFinite(row[j]!)) throw new BadInputError('STATS_NON_FINITE', `${this.extractor.path}: a reference feature is not finite (${row[j]} at [${j}])`, 'check the extractor model');
      }
      this.rows.push(row);
    }
    this.pending = [];
  }

  bytes(): Uint8Array {
    const dims = this.rows[0]?.length ?? 0;
    const all = new Float32Array(this.rows.length * dims);
    this.rows.forEach((r, i) => all.set(r, i * dims));
    return new Uint8Array(all.buffer);
  }
}

/** processes one block from the source images and writes its PNGs, feature rows and (last) its record */
export async function processBlock(block: number, images: readonly PlannedImage[], work: BlockWork): Promise<BlockRecord> {
  const feats = new Map<string, FeatureRows>();
  const key = (r: ResizeProtocolName, m: ReferenceFidMode): string => `${r}\0${m}`;
  if (work.features) {
    for (const r of work.resize) for (const m of work.features.modes) feats.set(key(r, m), new FeatureRows(work.features.extractor, work.features.batchSize));
  }
  const records: BlockImageRecord[] = [];
  // reading and decoding (libvips threads) run a few images ahead of the resize (this thread), PNG encodes and
  // writes a few behind it; records and feature rows stay in image order
  const loads = new Map<number, Promise<Loaded>>();
  const prefetch = (i: number): void => {
    if (i >= images.length || loads.has(i)) return;
    const load = loadImage(work.imagesDir, images[i]!);
    load.catch(() => undefined); // awaited in its turn, never unhandled
    loads.set(i, load);
  };
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < images.length; i++) {
    work.signal?.throwIfAborted();
    for (let k = i; k < i + LOOKAHEAD; k++) prefetch(k);
    const loaded = await loads.get(i)!;
    loads.delete(i);
    const image = images[i]!;
    const base = { file_name: image.fileName, id: image.id };
    if (loaded.kind === 'missing') {
      records.push({ ...base, status: 'missing', reason: loaded.reason });
      work.onImage?.();
      continue;
    }
    const { notes, sha } = loaded;
    if (loaded.kind === 'skipped') {
      records.push({ ...base, status: 'skipped', reason: loaded.reason, ...(notes.length ? { notes } : {}), source_sha256: sha });
      work.onImage?.();
      continue;
    }
    // keys in protocol order whatever order the encodes finish in
    const outputs: Partial<Record<ResizeProtocolName, string>> = Object.fromEntries(work.resize.map((r) => [r, '']));
    for (const resize of work.resize) {
      const ref = applyResizeProtocol(loaded.rgb, resize);
      const file = join(work.outDir, referenceFile(resize, image.fileName));
      const written = encodePng(ref).then(async (png) => {
        outputs[resize] = sha256(png);
        await writeFileAtomically(file, png);
      });
      written.catch(() => undefined); // awaited below, never unhandled
      writes.push(written);
      if (work.features) {
        const side = work.features.extractor.input.height;
        for (const mode of work.features.modes) await feats.get(key(resize, mode))!.push(preprocess(mode, ref, side).data);
      }
    }
    records.push({ ...base, status: 'ok', ...(notes.length ? { notes } : {}), source_sha256: sha, outputs });
    if (writes.length >= 2 * LOOKAHEAD) await Promise.all(writes.splice(0));
    work.onImage?.();
  }
  await Promise.all(writes);
  if (work.features) {
    for (const resize of work.resize) {
      for (const mode of work.features.modes) {
        const rows = feats.get(key(resize, mode))!;
        await rows.flush();
        await writeFileAtomically(featurePath(work.outDir, work.features.extractor.sha256, resize, mode, block), rows.bytes());
      }
    }
  }
  const record: BlockRecord = { block, resize: [...work.resize], images: records };
  await writeJsonAtomically(recordPath(work.outDir, block), record);
  return record;
}
