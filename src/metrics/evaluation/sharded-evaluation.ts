// an image folder (and its captions) evaluated in shards: each shard reads its contiguous range of the folder's
// images through the extractor (and CLIP) and leaves its state on disk; the merge scores FID, KID and CLIP once,
// from the state one stream would have held. Shards run anywhere that sees the folder: pool workers, Slurm tasks.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../../errors.js';
import { writeJsonAtomically } from '../../util/atomic-write.js';
import { clipConvention, CLIP_CONVENTIONS } from '../clip/index.js';
import { FID_MODES, listImages, MODE_CONVENTIONS, streamFeatures, type FidMode } from '../extract/index.js';
import { mergeShards, mergedStatistics, readShardState, shardBatches, shardStatePath, writeShardState, type ShardRange, type ShardState } from '../shards/index.js';
import { FeatureAccumulator, frechetDistance, kernelInceptionDistance, precisionRecall, readStatsNpz, type GaussianStats } from '../stats/index.js';
import { clipScoreOfFiles } from './clip-score-files.js';
import { openFeatureCache } from './feature-cache-choice.js';
import { loadFeatureExtractor } from './feature-extractor.js';
import { featuresOfSets, statisticsOfSets } from './image-sets.js';

/** what every shard and the merge agree on; written once as spec.json in the output folder */
export const shardSpecSchema = z.object({
  /** the generated (or prepared) images: listed as the mode's reference implementation lists a folder */
  images: z.string(),
  /** one caption per image in listing order: a .txt (one a line), `datasets prepare`'s captions/*.json, or a samples.json */
  captions: z.string().optional(),
  shards: z.number().int().positive(),
  /** the feature extractor; absent when only the CLIP score is asked for */
  extractor: z.string().optional(),
  mode: z.enum(FID_MODES),
  batch_size: z.number().int().positive(),
  /** the feature cache folder; null: none */
  cache: z.string().nullable(),
  /** FID against a pytorch-fid / clean-fid .npz or an image folder */
  fid: z.object({ reference: z.string() }).optional(),
  /** KID against an image folder's features */
  kid: z.object({ reference: z.string(), subsets: z.number().int().positive(), subset_size: z.number().int().positive(), seed: z.number().int() }).optional(),
  clip: z.object({ image: z.string(), text: z.string(), tokenizer: z.string(), convention: z.enum(CLIP_CONVENTIONS), prefix: z.string().optional() }).optional(),
  /** precision and recall against an image folder's features (k-NN radii), from every generated row in index order */
  pr: z.object({ reference: z.string(), k: z.number().int().positive() }).optional(),
});
export type ShardSpec = z.infer<typeof shardSpecSchema>;

export const specPath = (dir: string): string => join(dir, 'spec.json');
export const resultPath = (dir: string): string => join(dir, 'result.json');

/** writes spec.json, or checks that the one already there is the same (shards of another evaluation must not mix) */
export async function writeShardSpec(dir: string, spec: ShardSpec): Promise<void> {
  const path = specPath(dir);
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    if (old !== `${JSON.stringify(spec, null, 2)}\n`) {
      throw new BadInputError('SHARDS_SPEC_CHANGED', `${path} describes another evaluation than this command`, `use a new --out folder, or delete ${dir} to start over`);
    }
    return;
  }
  await writeJsonAtomically(path, spec);
}

export function readShardSpec(dir: string): ShardSpec {
  const path = specPath(dir);
  if (!existsSync(path)) throw new BadInputError('SHARDS_NO_SPEC', `${path} does not exist`, 'start the evaluation with `vsdlab shards run`, which writes it');
  const parsed = shardSpecSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new BadInputError('SHARDS_SPEC_BAD', `${path}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** the images in stream order, and their captions when the spec names a caption file */
export async function shardInputs(spec: ShardSpec): Promise<{ files: string[]; captions?: string[] }> {
  const files = listImages(spec.images, MODE_CONVENTIONS[spec.mode as FidMode].listing);
  if (files.length === 0) throw new BadInputError('TOO_FEW_IMAGES', `${spec.images} holds no images`);
  if (!spec.captions) return { files };
  const captions = await readCaptions(spec.captions);
  if (captions.length !== files.length) {
    throw new BadInputError('CLIP_PAIRS_MISMATCH', `${spec.captions} lists ${captions.length} captions for the ${files.length} images of ${spec.images}`, 'give the caption list the images were generated from');
  }
  return { files, captions };
}

const captionFile = z.union([
  z.object({ captions: z.array(z.object({ caption: z.string() })) }),
  z.object({ samples: z.array(z.object({ index: z.number(), caption: z.string() })) }),
]);

async function readCaptions(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new BadInputError('CAPTIONS_UNREADABLE', `cannot read captions ${path}: ${e.code ?? e.message}`);
  });
  if (!path.endsWith('.json')) return text.replace(/\n$/, '').split('\n');
  const parsed = captionFile.safeParse(JSON.parse(text));
  if (!parsed.success) throw new BadInputError('CAPTIONS_BAD', `${path}: neither {"captions": [{"caption": ...}]} nor {"samples": [{"index", "caption"}]}`);
  const body = parsed.data;
  return 'captions' in body ? body.captions.map((c) => c.caption) : [...body.samples].sort((a, b) => a.index - b.index).map((s) => s.caption);
}

/**
 * The images of shard `index`: whole extractor batches. onnxruntime's kernels can round a row differently in
 * another batch (seen at 1e-8 in CLIP's text tower), so only identical batches make the shards' rows and cosines
 * bit for bit the single stream's.
 */
export const shardImages = (total: number, spec: Pick<ShardSpec, 'shards' | 'batch_size'>, index: number): ShardRange => shardBatches(total, spec.batch_size, spec.shards, index);

export interface ShardRunOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs shard `index` of the evaluation in `dir` unless its state is already there. A shard killed midway left no
 * state, so it runs again from its first image; the feature cache gives back the rows it had computed.
 */
export async function runShard(dir: string, index: number, o: ShardRunOptions = {}): Promise<{ state: ShardState; ran: boolean }> {
  const spec = readShardSpec(dir);
  const done = readShardState(dir, index, spec.shards);
  if (done) return { state: done, ran: false };
  const { files: all, captions } = await shardInputs(spec);
  const { start, end } = shardImages(all.length, spec, index);
  const files = all.slice(start, end);
  const base = { index, shards: spec.shards, start, end, files: files.map((f) => relative(spec.images, f)), mode: spec.mode };
  if (files.length === 0 || !spec.extractor) {
    if (files.length > 0 && !spec.clip) throw new BadInputError('SHARDS_SPEC_BAD', `${specPath(dir)} names neither an extractor nor a CLIP model`);
    const empty = { dims: 0, n: 0, mean: new Float64Array(0), m2: new Float64Array(0), sum32: new Float32Array(0) };
    // an empty shard, or a CLIP-only one: no feature rows (extractor '')
    const clip = files.length > 0 ? await shardCosines(spec, files, captions, start, end, o) : spec.clip ? { cosines: new Float64Array(0), clip: '' } : undefined;
    const state: ShardState = { ...base, extractor: '', resolution: 0, snapshot: empty, features: new Float32Array(0), ...(clip ?? {}) };
    await writeShardState(dir, state);
    return { state, ran: true };
  }
  const cache = openFeatureCache(spec.cache ?? false);
  const extractor = await loadFeatureExtractor({ path: spec.extractor });
  let acc: FeatureAccumulator | undefined;
  const parts: Float32Array[] = [];
  const sha = extractor.sha256;
  const resolution = extractor.input.height;
  try {
    const output = extractor.outputs[0]!;
    await streamFeatures(files, { extractor, mode: spec.mode, batchSize: spec.batch_size, ...(cache ? { cache } : {}), ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) }, (batch) => {
      const rows = batch.features[output]!;
      acc ??= new FeatureAccumulator(rows.length / batch.rows);
      acc.add(rows);
      parts.push(rows);
    });
  } finally {
    await extractor.dispose();
  }
  const features = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (features.set(p, at), at + p.length), 0);
  const clip = await shardCosines(spec, files, captions, start, end, o);
  const state: ShardState = { ...base, extractor: sha, resolution, snapshot: acc!.snapshot(), features, ...(clip ?? {}) };
  await writeShardState(dir, state);
  return { state, ran: true };
}

/** the CLIP cosine of each image of the shard with its caption, and the towers' sha256; undefined without CLIP */
async function shardCosines(spec: ShardSpec, files: string[], captions: string[] | undefined, start: number, end: number, o: ShardRunOptions): Promise<{ cosines: Float64Array; clip: string } | undefined> {
  if (!spec.clip) return undefined;
  if (!captions) throw new BadInputError('SHARDS_NO_CAPTIONS', 'a CLIP score needs the captions of the images', 'pass --captions FILE');
  const { result, models } = await clipScoreOfFiles(spec.clip, files, captions.slice(start, end), {
    convention: spec.clip.convention,
    ...(spec.clip.prefix !== undefined ? { prefix: spec.clip.prefix } : {}),
    batchSize: spec.batch_size,
    cache: spec.cache ?? false,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { cosines: result.cosines, clip: `${models.image.sha256}+${models.text.sha256}` };
}

export interface ShardedResult {
  images: number;
  shards: number;
  mode: string;
  extractor: string;
  /** the extractor's input size */
  resolution: number;
  /** the feature dimension */
  dims: number;
  fid?: number;
  /** what the FID was measured against: the .npz, or the folder and its image count */
  fid_reference?: { path: string; images?: number };
  kid?: { mean: number; std: number; subsets: number; subset_size: number; reference_rows: number };
  clip_score?: { score: number; convention: string; model: string };
  precision_recall?: { precision: number; recall: number; k: number; reference_rows: number };
}

/** which shards have no finished state yet */
export function missingShards(dir: string): number[] {
  const spec = readShardSpec(dir);
  return Array.from({ length: spec.shards }, (_, i) => i).filter((i) => !existsSync(shardStatePath(dir, i, spec.shards)));
}

/** merges every shard's state and scores the set once; the result is written to result.json */
export async function mergeAndScore(dir: string, signal?: AbortSignal): Promise<ShardedResult> {
  const spec = readShardSpec(dir);
  const states: ShardState[] = [];
  for (let i = 0; i < spec.shards; i++) {
    const s = readShardState(dir, i, spec.shards);
    if (!s) throw new BadInputError('SHARDS_INCOMPLETE', `shard ${i} of ${spec.shards} in ${dir} has not finished`, 'run the missing shards (`vsdlab shards run` runs what is missing)');
    states.push(s);
  }
  const merged = mergeShards(states);
  const result: ShardedResult = { images: merged.n, shards: spec.shards, mode: spec.mode, extractor: merged.extractor, resolution: merged.resolution, dims: merged.features.dims };
  const sets = { extractor: { path: spec.extractor ?? '' }, mode: spec.mode, batchSize: spec.batch_size, cache: spec.cache ?? (false as const), ...(signal ? { signal } : {}) };
  if (spec.fid) {
    const path = spec.fid.reference;
    const npz = path.toLowerCase().endsWith('.npz');
    const set = npz ? undefined : (await statisticsOfSets([path], sets)).sets[0]!;
    const ref: GaussianStats = set ? set.stats : readStatsNpz(path);
    result.fid = frechetDistance(ref, mergedStatistics(merged, { mean: MODE_CONVENTIONS[spec.mode as FidMode].mean })).distance;
    result.fid_reference = { path, ...(set?.summary ? { images: set.summary.images } : {}) };
  }
  if (spec.kid) {
    const real = (await featuresOfSets([spec.kid.reference], sets)).sets[0]!.features;
    const size = Math.min(spec.kid.subset_size, real.rows, merged.features.rows);
    const kid = kernelInceptionDistance(merged.features, real, { subsets: spec.kid.subsets, subsetSize: size, seed: spec.kid.seed });
    result.kid = { mean: kid.mean, std: kid.std, subsets: spec.kid.subsets, subset_size: size, reference_rows: real.rows };
  }
  if (spec.pr) {
    // the generated rows merged in index order are the one stream's rows: the k-NN radii and counts are exact
    const real = (await featuresOfSets([spec.pr.reference], sets)).sets[0]!.features;
    const pr = precisionRecall(real, merged.features, { k: spec.pr.k });
    result.precision_recall = { precision: pr.precision, recall: pr.recall, k: spec.pr.k, reference_rows: real.rows };
  }
  if (spec.clip && merged.cosines) {
    result.clip_score = { score: clipConvention(spec.clip.convention).aggregate(merged.cosines), convention: spec.clip.convention, model: merged.clip! };
  }
  await writeJsonAtomically(resultPath(dir), result);
  return result;
}
