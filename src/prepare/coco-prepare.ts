/**
 * `datasets prepare coco2014`: a COCO-2014 val copy (captions_val2014.json + val2014/) validated and turned into
 * the caption subsets of every protocol, the reference image set of every resize protocol and, with an Inception,
 * the reference statistics of every FID mode, named in manifest.json.
 *
 * Resumable and shardable through blocks (shards.ts): `--shard i/n` runs only write blocks; an unsharded run
 * processes what is still missing, then merges the blocks in order (one stream, so the statistics are the ones
 * an uninterrupted run computes bit for bit) and writes the caption subsets, lists, statistics and manifest.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BadInputError, ConflictError } from '../errors.js';
import { loadCocoCaptions } from '../data/index.js';
import { loadFeatureExtractor } from '../metrics/evaluation/index.js';
import { MODE_CONVENTIONS, type OnnxExtractor } from '../metrics/extract/index.js';
import { datasetName, extractorName } from '../metrics/protocol/evaluation-protocol.js';
import { FeatureAccumulator, writeStatsNpz } from '../metrics/stats/index.js';
import { sweepStaleTempFiles, writeFileAtomically, writeJsonAtomically } from '../util/atomic-write.js';
import { hashValue, sha256, sha256File } from '../util/hash.js';
import { writeCaptionSubsets, type ListProtocol } from './caption-subsets.js';
import { listImageFolder, validateCoco } from './coco-validate.js';
import { DECODING_POLICY, PREPARED_KIND, type PreparedManifest } from './prepare-manifest.js';
import { blockComplete, featurePath, processBlock, readBlockRecord, referenceFile, REFERENCE_FID_MODES, type BlockImageRecord, type PlannedImage, type ReferenceFidMode } from './reference-blocks.js';
import { RESIZE_PROTOCOL_NAMES, RESIZE_PROTOCOLS, type ResizeProtocolName } from './resize-protocols.js';
import { blockCount, shardBlocks, WHOLE, type Shard } from './shards.js';

export interface PrepareProgress {
  phase: 'references' | 'statistics';
  done: number;
  total: number;
}

export interface PrepareOptions {
  annotations: string;
  images: string;
  out: string;
  lists?: Partial<Record<ListProtocol, string>>;
  /** captions per list / random-n subset (default 30,000) */
  captionCount?: number;
  seed?: number;
  resize?: readonly ResizeProtocolName[];
  /** ONNX FID Inception: reference statistics per mode */
  inception?: string;
  modes?: readonly ReferenceFidMode[];
  threads?: number;
  batchSize?: number;
  shard?: Shard;
  blockSize?: number;
  /** any missing, undecodable or unlisted image, or a count other than the release's, is an error */
  strict?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: PrepareProgress) => void;
  /** a finding worth a line as it happens (count warnings, skipped files) */
  onWarning?: (line: string) => void;
}

export type PrepareResult =
  | { kind: 'shard'; shard: Shard; blocks: number; processed: number; alreadyDone: number; remaining: number }
  | { kind: 'complete'; manifestPath: string; manifest: PreparedManifest; processed: number; alreadyDone: number };

export const DEFAULT_BLOCK_SIZE = 256;

interface Layout {
  block_size: number;
  images: number;
  /** sha256 of the image order: a different annotations file cannot reuse these blocks */
  order: string;
}

function checkLayout(out: string, layout: Layout, explicitBlockSize: boolean): Layout {
  const path = join(out, 'work', 'layout.json');
  if (!existsSync(path)) return layout;
  const had = JSON.parse(readFileSync(path, 'utf8')) as Layout;
  if (had.order !== layout.order) {
    throw new ConflictError('PREPARE_OUT_IN_USE', `${out} holds a prepare of other annotations (${had.images} images)`, 'give a new --out folder, or remove that one');
  }
  if (explicitBlockSize && had.block_size !== layout.block_size) {
    throw new ConflictError('PREPARE_OUT_IN_USE', `${out} was started with --block-size ${had.block_size}`, `rerun with --block-size ${had.block_size}, or give a new --out folder`);
  }
  return had;
}

async function readFeatureRows(path: string): Promise<Float32Array> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const buf = new Float32Array(size / 4);
    await fh.read(new Uint8Array(buf.buffer), 0, size, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

export async function prepareCoco2014(o: PrepareOptions): Promise<PrepareResult> {
  const shard = o.shard ?? WHOLE;
  const resize = [...(o.resize ?? RESIZE_PROTOCOL_NAMES)];
  const modes = [...(o.modes ?? REFERENCE_FID_MODES)];
  const warn = o.onWarning ?? (() => undefined);

  const coco = await loadCocoCaptions(o.annotations);
  const folderFiles = listImageFolder(o.images);
  const validation = validateCoco(coco, folderFiles);
  for (const w of validation.warnings) warn(w);
  if (o.strict && validation.warnings.length > 0) {
    throw new BadInputError('COCO_NOT_OFFICIAL', `--strict: ${validation.warnings[0]}${validation.warnings.length > 1 ? ` (and ${validation.warnings.length - 1} more findings)` : ''}`, 'drop --strict to prepare this copy anyway (every finding goes in the manifest)');
  }

  // clean-fid lists a reference folder sorted by path; blocks follow that order so the merge is its one stream
  const planned: PlannedImage[] = [...coco.images].sort((a, b) => (a.file_name < b.file_name ? -1 : a.file_name > b.file_name ? 1 : 0)).map((i) => ({ id: i.id, fileName: i.file_name }));
  const names = new Set<string>();
  for (const p of planned) {
    const png = referenceFile('center-crop-lanczos-256', p.fileName);
    if (names.has(png)) throw new BadInputError('COCO_SHAPE_INVALID', `${o.annotations}: two images would both be written as ${png}`, 'image file names must differ in more than their extension');
    names.add(png);
  }
  const layout = checkLayout(
    o.out,
    { block_size: o.blockSize ?? DEFAULT_BLOCK_SIZE, images: planned.length, order: hashValue(planned.map((p) => [p.id, p.fileName])) },
    o.blockSize !== undefined,
  );
  if (!Number.isInteger(layout.block_size) || layout.block_size < 1) throw new BadInputError('USAGE', `--block-size must be a positive integer, got ${layout.block_size}`);
  await writeJsonAtomically(join(o.out, 'work', 'layout.json'), layout);

  let extractor: OnnxExtractor | undefined;
  try {
    if (o.inception !== undefined) {
      extractor = await loadFeatureExtractor({ path: o.inception, ...(o.threads ? { threads: o.threads } : {}) });
    }
    const work = {
      outDir: o.out,
      imagesDir: o.images,
      resize,
      ...(extractor ? { features: { extractor, modes, batchSize: o.batchSize ?? 16 } } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    };
    const blocks = blockCount(planned.length, layout.block_size);
    const mine = shardBlocks(blocks, shard);
    const todo = mine.filter((b) => !blockComplete(o.out, b, work));
    const total = todo.reduce((n, b) => n + Math.min(layout.block_size, planned.length - b * layout.block_size), 0);
    let done = 0;
    o.onProgress?.({ phase: 'references', done, total });
    for (const b of todo) {
      const images = planned.slice(b * layout.block_size, (b + 1) * layout.block_size);
      const record = await processBlock(b, images, {
        ...work,
        onImage: () => o.onProgress?.({ phase: 'references', done: ++done, total }),
      });
      for (const r of record.images) if (r.status === 'skipped') warn(`${r.file_name}: ${r.status}: ${r.reason ?? ''}`);
    }
    if (shard.count > 1) {
      const remaining = Array.from({ length: blocks }, (_, b) => b).filter((b) => !blockComplete(o.out, b, work)).length;
      return { kind: 'shard', shard, blocks: mine.length, processed: todo.length, alreadyDone: mine.length - todo.length, remaining };
    }
    const manifest = await merge(o, { coco, validation, planned, layout, resize, modes, extractor });
    const manifestPath = join(o.out, 'manifest.json');
    await writeJsonAtomically(manifestPath, manifest);
    return { kind: 'complete', manifestPath, manifest, processed: todo.length, alreadyDone: mine.length - todo.length };
  } finally {
    await extractor?.dispose();
  }
}

interface MergeInput {
  coco: Awaited<ReturnType<typeof loadCocoCaptions>>;
  validation: ReturnType<typeof validateCoco>;
  planned: PlannedImage[];
  layout: Layout;
  resize: ResizeProtocolName[];
  modes: ReferenceFidMode[];
  extractor: OnnxExtractor | undefined;
}

async function merge(o: PrepareOptions, m: MergeInput): Promise<PreparedManifest> {
  const blocks = blockCount(m.planned.length, m.layout.block_size);
  const records: BlockImageRecord[] = [];
  for (let b = 0; b < blocks; b++) {
    const record = readBlockRecord(o.out, b);
    if (!record) throw new Error(`block ${b} has no record after its run`);
    records.push(...record.images);
  }
  const ok = records.filter((r) => r.status === 'ok');
  const missing = records.filter((r) => r.status === 'missing').map((r) => ({ file_name: r.file_name, reason: r.reason ?? '' }));
  const skipped = records.filter((r) => r.status === 'skipped').map((r) => ({ file_name: r.file_name, reason: r.reason ?? '' }));
  if (o.strict && missing.length + skipped.length > 0) {
    const bad = [...missing, ...skipped];
    throw new BadInputError('COCO_IMAGE_UNREADABLE', `--strict: ${bad.length} image(s) left out, first ${bad[0]!.file_name}: ${bad[0]!.reason}`, 'drop --strict to prepare without them (each is named in the manifest)');
  }
  const notes: Record<string, number> = {};
  for (const r of records) for (const n of r.notes ?? []) notes[n] = (notes[n] ?? 0) + 1;

  // a run killed mid-write left the hidden temp file of the write-then-rename (no listing counts it as an image, but
  // the folder should hold the prepared set only); a shard of this folder may still be writing, so only the temp
  // files of dead writers go (util/atomic-write.ts)
  sweepStaleTempFiles(o.out, { recursive: true });
  const references: PreparedManifest['references'] = [];
  for (const resize of m.resize) {
    const lines = ok.map((r) => `${r.outputs![resize]}  ${referenceFile(resize, r.file_name)}\n`).join('');
    const list = { file: `references/${resize}.sha256`, sha256: sha256(lines) };
    await writeFileAtomically(join(o.out, list.file), lines);
    const p = RESIZE_PROTOCOLS[resize];
    references.push({ protocol: resize, description: p.description, side: p.side, folder: `references/${resize}`, images: ok.length, list });
  }
  const official = m.validation.warnings.length === 0 && missing.length + skipped.length === 0;
  const dataset = datasetName(official, { images: ok.length, captions: m.coco.annotations.length });

  const statistics: PreparedManifest['statistics'] = [];
  if (m.extractor) {
    const ex = m.extractor;
    let step = 0;
    const steps = m.resize.length * m.modes.length * blocks;
    for (const resize of m.resize) {
      for (const mode of m.modes) {
        let acc: FeatureAccumulator | undefined;
        for (let b = 0; b < blocks; b++) {
          const rows = await readFeatureRows(featurePath(o.out, ex.sha256, resize, mode, b));
          if (rows.length > 0) {
            const okInBlock = (readBlockRecord(o.out, b)?.images ?? []).filter((r) => r.status === 'ok').length;
            acc ??= new FeatureAccumulator(rows.length / okInBlock);
            acc.add(rows);
          }
          o.onProgress?.({ phase: 'statistics', done: ++step, total: steps });
        }
        if (!acc || acc.count < 2) throw new BadInputError('TOO_FEW_IMAGES', `${o.images}: ${acc?.count ?? 0} usable image(s); reference statistics need at least 2`);
        const file = `statistics/${resize}-${mode}.npz`;
        mkdirSync(join(o.out, 'statistics'), { recursive: true });
        await writeStatsNpz(join(o.out, file), acc.finalize({ mean: MODE_CONVENTIONS[mode].mean }));
        statistics.push({
          file,
          sha256: await sha256File(join(o.out, file)),
          images: acc.count,
          dims: acc.dims,
          protocol: {
            dataset,
            reference: dataset,
            reference_resize: resize,
            resolution: RESIZE_PROTOCOLS[resize].side,
            mode,
            extractor: extractorName(ex.path, ex.input, acc.dims),
            extractor_sha256: ex.sha256,
            reference_images: acc.count,
          },
        });
      }
    }
  }

  const captions = await writeCaptionSubsets(m.coco, o.out, { lists: o.lists ?? {}, ...(o.captionCount !== undefined ? { count: o.captionCount } : {}), seed: o.seed ?? 0 });
  const warnings = [...m.validation.warnings];
  if (missing.length + skipped.length > 0) warnings.push(`${missing.length + skipped.length} listed image(s) left out of the reference sets (missing ${missing.length}, undecodable ${skipped.length})`);
  for (const c of captions) {
    if ('skipped' in c) warnings.push(`${c.protocol}: skipped: ${c.skipped}`);
    else warnings.push(...c.warnings);
  }
  return {
    kind: PREPARED_KIND,
    version: 1,
    dataset,
    annotations: { file: basename(o.annotations), sha256: m.coco.sha256 ?? '', images: m.coco.images.length, captions: m.coco.annotations.length },
    validation: m.validation,
    decoding: {
      policy: DECODING_POLICY,
      ok: ok.length,
      missing,
      skipped,
      notes,
      noted: records.filter((r) => (r.notes?.length ?? 0) > 0).map((r) => ({ file_name: r.file_name, notes: r.notes! })),
    },
    captions,
    references,
    statistics,
    layout: { block_size: m.layout.block_size, blocks },
    warnings,
  };
}
