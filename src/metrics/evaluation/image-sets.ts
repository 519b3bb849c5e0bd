// image folders (or saved .npz statistics) through one feature extractor: the part of FID, KID and
// precision/recall that loads the model, opens the feature cache and reads each set, shared by the
// metric commands and the evaluate stage.
// The model and image stack (onnxruntime, sharp) load only when a folder is read: `vsdlab fid a.npz b.npz`
// stays a statistics-file reader and the Fréchet distance.
import { BadInputError } from '../../errors.js';
import type { FidMode, ImageSetOptions, ImageSetSummary, OnnxExtractor } from '../extract/index.js';
import type { RgbImage } from '../image/index.js';
import { readStatsNpz, type FeatureMatrix, type GaussianStats } from '../stats/index.js';
import type { ExtractorPool } from './extractor-pool.js';
import type { FeatureCacheChoice } from './feature-cache-choice.js';
import type { ExtractorChoice, ExtractorInfo } from './feature-extractor.js';

export interface ImageSetsOptions {
  extractor: ExtractorChoice;
  /** preprocessing of the images, and whose folder listing */
  mode: FidMode;
  /** images per extractor run */
  batchSize: number;
  /** leave out (and count) images that cannot be decoded instead of stopping */
  skipBad?: boolean;
  cache?: FeatureCacheChoice;
  signal?: AbortSignal;
  /** a progress callback for one folder (e.g. a terminal line labelled with it) */
  progress?: (folder: string) => ((done: number, total: number) => void) | undefined;
  /** each folder's summary as soon as it is read (e.g. to list its skipped images) */
  onImageSet?: (summary: ImageSetSummary) => void;
  /** sessions kept across calls (the evaluate stage's): the model comes from it by content and stays open */
  extractors?: ExtractorPool;
  /** the image decoder (default: the image module's decodeImage), e.g. a memo shared by the metrics of a cell */
  decode?: (bytes: Buffer, name: string) => Promise<RgbImage>;
  /** whether a folder's images are looked up in and written to the per-image feature cache (default: every folder) */
  perImageCache?: (folder: string) => boolean;
  /**
   * whole folders' features stored content-addressed beside the feature cache (set-features-files.ts): a later
   * call on the same images reads one file instead of one per image. Needs the cache; not with skipBad.
   */
  setFiles?: boolean;
}

export interface StatisticsOptions extends ImageSetsOptions {
  /** the feature length expected (the fid command's --dims): checked against each .npz and the model */
  dims?: number;
}

/** a set's mean and covariance; `summary` is absent when they were read from an .npz */
export interface SetStatistics {
  path: string;
  stats: GaussianStats;
  summary?: ImageSetSummary;
}

export interface SetFeatures {
  features: FeatureMatrix;
  summary: ImageSetSummary;
}

const isNpz = (p: string): boolean => p.toLowerCase().endsWith('.npz');

/**
 * Mean and covariance of each path: an image folder through the extractor, or pytorch-fid / clean-fid .npz
 * statistics. The .npz files are read first, so a bad one fails before any image is; the model is loaded only
 * when some path is a folder (`extractor` is then set).
 */
export async function statisticsOfSets(paths: readonly string[], o: StatisticsOptions): Promise<{ sets: SetStatistics[]; extractor?: ExtractorInfo }> {
  const saved = new Map<string, GaussianStats>();
  for (const path of paths.filter(isNpz)) {
    const s = readStatsNpz(path);
    if (o.dims !== undefined && s.mu.length !== o.dims) throw new BadInputError('STATS_DIMS_MISMATCH', `${path} holds ${s.mu.length}-d statistics but --dims is ${o.dims}`);
    saved.set(path, s);
  }
  if (paths.every(isNpz)) return { sets: paths.map((path) => ({ path, stats: saved.get(path)! })) };
  const { extractorInfo } = await import('./feature-extractor.js');
  const { imageSetFeatures, imageSetStatistics, MODE_CONVENTIONS } = await import('../extract/image-set.js');
  const { FeatureAccumulator } = await import('../stats/index.js');
  const { extractor, release } = await openExtractor(o);
  try {
    const output = extractor.outputs[0]!;
    const have = extractor.declaredDims(output);
    if (o.dims !== undefined && have !== undefined && have !== o.dims) {
      throw new BadInputError('STATS_DIMS_MISMATCH', `the model's ${output} has ${have} features but --dims is ${o.dims}`, `pass --dims ${have}`);
    }
    const optionsFor = await folderOptions(extractor, o);
    const sets: SetStatistics[] = [];
    for (const path of paths) {
      const fromFile = saved.get(path);
      if (fromFile) {
        sets.push({ path, stats: fromFile });
        continue;
      }
      const stored = await throughSetFile(extractor, path, o, () => imageSetFeatures(path, optionsFor(path)));
      // a stored set's statistics: the same rows into the same accumulator (its sums do not depend on the batching)
      const { stats, summary } = stored
        ? { stats: new FeatureAccumulator(stored.features.dims).add(stored.features.data).finalize({ mean: MODE_CONVENTIONS[o.mode].mean }), summary: stored.summary }
        : await imageSetStatistics(path, optionsFor(path));
      o.onImageSet?.(summary);
      sets.push({ path, stats, summary });
    }
    return { sets, extractor: extractorInfo(extractor) };
  } finally {
    await release();
  }
}

/** every feature row of each image folder (KID and precision/recall need them all), in the order given */
export async function featuresOfSets(folders: readonly string[], o: ImageSetsOptions): Promise<{ sets: SetFeatures[]; extractor: ExtractorInfo }> {
  const { extractorInfo } = await import('./feature-extractor.js');
  const { imageSetFeatures } = await import('../extract/image-set.js');
  const { extractor, release } = await openExtractor(o);
  try {
    const optionsFor = await folderOptions(extractor, o);
    const sets: SetFeatures[] = [];
    for (const folder of folders) {
      const compute = (): Promise<SetFeatures> => imageSetFeatures(folder, optionsFor(folder));
      const set = (await throughSetFile(extractor, folder, o, compute)) ?? (await compute());
      o.onImageSet?.(set.summary);
      sets.push(set);
    }
    return { sets, extractor: extractorInfo(extractor) };
  } finally {
    await release();
  }
}

/** the feature extractor of `o`: from its pool (left open) or loaded for this call (disposed by `release`) */
async function openExtractor(o: ImageSetsOptions): Promise<{ extractor: OnnxExtractor; release: () => Promise<void> }> {
  const { featureOutputView, loadFeatureExtractor } = await import('./feature-extractor.js');
  if (o.extractors) return { extractor: featureOutputView(await o.extractors.extractor(o.extractor.path)), release: async () => undefined };
  const extractor = await loadFeatureExtractor(o.extractor);
  return { extractor, release: () => extractor.dispose() };
}

/** the folder through its stored set file when `o.setFiles` asks for one and the model fixes the feature length */
async function throughSetFile(extractor: OnnxExtractor, folder: string, o: ImageSetsOptions, compute: () => Promise<SetFeatures>): Promise<SetFeatures | undefined> {
  const output = extractor.outputs[0]!;
  const dims = extractor.declaredDims(output);
  if (!o.setFiles || o.skipBad || o.cache === false || dims === undefined) return undefined;
  const { openFeatureCache } = await import('./feature-cache-choice.js');
  const { setFeaturesThroughFile } = await import('./set-features-files.js');
  return setFeaturesThroughFile(folder, { extractorSha256: extractor.sha256, mode: o.mode, output, dims }, openFeatureCache(o.cache)!.dir, compute);
}

/** each folder's options for imageSetStatistics / imageSetFeatures; the cache is opened once the model has loaded */
async function folderOptions(extractor: OnnxExtractor, o: ImageSetsOptions): Promise<(folder: string) => ImageSetOptions> {
  const { openFeatureCache } = await import('./feature-cache-choice.js');
  const cache = openFeatureCache(o.cache);
  return (folder) => {
    const onProgress = o.progress?.(folder);
    return {
      extractor,
      mode: o.mode,
      output: extractor.outputs[0]!,
      batchSize: o.batchSize,
      ...(o.skipBad !== undefined ? { skipBad: o.skipBad } : {}),
      ...(o.decode ? { decode: o.decode } : {}),
      ...(cache && (o.perImageCache?.(folder) ?? true) ? { cache } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    };
  };
}
