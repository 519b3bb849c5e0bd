import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CellConfig } from '../config/schema.js';
import { parseCaption } from '../data/caption-parse.js';
import { BadInputError } from '../errors.js';
import { checkFaithfulness, decodeAttributes } from '../features/attribute-heads.js';
import { clipScoreOfFiles, featuresOfSets, kernelInceptionDistanceOnce, kidReferenceFiles, mergeAndScore, missingShards, writeShardSpec, statisticsOfSets, type ImageSetsOptions, type KidReferenceFiles, type SetFeatures, type SetStatistics } from '../metrics/evaluation/index.js';
import { decodeMemo } from '../metrics/evaluation/decode-memo.js';
import { evaluationThreads } from '../metrics/evaluation/evaluation-threads.js';
import { sharedExtractorPool, type ExtractorPool } from '../metrics/evaluation/extractor-pool.js';
import { defaultFeatureCacheDir, streamFeatures, type FidMode } from '../metrics/extract/index.js';
import type { RgbImage } from '../metrics/image/index.js';
import { FeatureCache } from '../metrics/feature-cache/index.js';
import { frechetDistance, precisionRecall } from '../metrics/stats/index.js';
import { clipModelName } from '../metrics/protocol/evaluation-protocol.js';
import { referenceFields, resizeImages, resizeProtocolOfSide } from '../prepare/index.js';
import { metricRecord, samplesFileSchema, type MetricRecord, type Protocol } from '../tracking/results.js';
import { baseProtocol, featureMetricProtocol } from './evaluation-protocol.js';
import type { Stage, StageContext } from '../tracking/stage.js';
import { runStageShards } from './run-shards.js';
import { sha256File } from '../util/hash.js';

type Metric = CellConfig['evaluate']['metrics'][number];

interface Generated {
  folder: string;
  files: string[];
  captions: string[];
  /** the samples.json the captions come from (sharded CLIP score: each shard reads its captions there) */
  samplesFile: string;
  /** the protocol fields every metric shares */
  base: Protocol;
}

/** Measures the generated images of a cell with every metric it names; each number carries its protocol. */
export const evaluateStage: Stage = {
  name: 'evaluate',
  // 2: protocols record names (dataset, caption protocol, reference set and resize, extractor, CLIP model) beside hashes
  version: 'evaluate-2',
  assets: ['evaluate'],
  // the shard count changes where the work runs, not the numbers (batch-aligned shards, exact merge)
  inputs: (c) => ({ ...c.evaluate, batch_size: undefined, shards: undefined }),
  async run(ctx) {
    const config = ctx.cell.config;
    const gen = ctx.upstream.generate;
    if (!gen) throw new Error('evaluate: no generated images');
    const samples = samplesFileSchema.parse(JSON.parse(readFileSync(join(gen.dir, 'samples.json'), 'utf8'))).samples;
    const generated: Generated = {
      folder: join(gen.dir, 'images'),
      files: samples.map((s) => join(gen.dir, s.file)),
      captions: samples.map((s) => s.caption),
      samplesFile: join(gen.dir, 'samples.json'),
      base: await baseProtocol(config.evaluate, typeof gen.result.captions_fingerprint === 'string' ? gen.result.captions_fingerprint : null, samples.length),
    };
    const cache = new FeatureCache(defaultFeatureCacheDir());
    // KID's reference-side terms are the same for every cell: computed by the first, read by the others
    const kidReference = kidReferenceFiles(cache.dir);
    const batchSize = config.evaluate.batch_size;
    const records: MetricRecord[] = [];
    const metrics = config.evaluate.metrics;
    // what the metrics of a cell share: one session per model file for the worker's life, on the worker's share of
    // the cores, and each generated image decoded once (FID, CLIP score and faithfulness all read them). A small
    // generated set skips the per-image feature cache: recomputing its features after a kill takes seconds, while
    // caching them wrote 1,500 fsynced files per cell (half the stage's CPU at 500 images); the reference sets keep
    // it, and FID's rows of the generated set are stored whole for KID and precision/recall (BENCHMARKS.md, issue 19)
    const perImage = samples.length >= PER_IMAGE_CACHE_MIN_IMAGES;
    const shared = { extractors: sharedExtractorPool(evaluationThreads()), decode: decodeMemo(), generatedCache: perImage ? cache : undefined, generatedFolder: generated.folder };
    for (const [i, metric] of metrics.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const wall = performance.now();
      const cpu = process.cpuUsage();
      const o = { cache, kidReference, batchSize, signal: ctx.signal, workDir: ctx.workDir, ...shared };
      const shards = config.evaluate.shards;
      records.push(...(shards > 1 && metric.name !== 'faithfulness' ? await measureSharded(metric, generated, i, { ...o, shards, ctx }) : await measure(metric, generated, o)));
      // where an evaluation's time goes (the study profile reads it): wall and process CPU seconds per metric
      const used = process.cpuUsage(cpu);
      ctx.log({ metric: metric.name, seconds: (performance.now() - wall) / 1000, cpu_seconds: (used.user + used.system) / 1e6 });
      ctx.progress(i + 1, metrics.length);
    }
    await kidReference.flush();
    return { metrics: records };
  },
};

interface MeasureOptions {
  /** the stage's working folder (generated images resized for a metric go there, and survive a kill) */
  workDir: string;
  cache: FeatureCache;
  kidReference: KidReferenceFiles;
  batchSize: number;
  signal: AbortSignal;
  extractors: ExtractorPool;
  decode: (bytes: Buffer, name: string) => Promise<RgbImage>;
  /** the per-image feature cache for the generated images (undefined: a small set, not cached image by image) */
  generatedCache: FeatureCache | undefined;
  generatedFolder: string;
}

/** generated sets from this size on go through the per-image feature cache (a killed evaluation resumes from it) */
export const PER_IMAGE_CACHE_MIN_IMAGES = 5000;

/**
 * the reference and the generated images through one extractor, with the stage's cache, batch size, sessions and
 * decoder; whole folders stored as sets, so the reference sets are read from one file per cell and metric
 */
const imageSets = (extractor: string, mode: FidMode, o: MeasureOptions): ImageSetsOptions => ({
  extractor: { path: extractor },
  mode,
  cache: o.cache.dir,
  batchSize: o.batchSize,
  signal: o.signal,
  extractors: o.extractors,
  decode: o.decode,
  setFiles: true,
  perImageCache: (folder) => o.generatedCache !== undefined || folder !== o.generatedFolder,
});

async function measure(metric: Metric, g: Generated, o: MeasureOptions): Promise<MetricRecord[]> {
  switch (metric.name) {
    case 'fid': {
      // the reference: a pytorch-fid/clean-fid .npz, or an image folder through the same extractor
      // fid.resolution: the generated images through a resize protocol first, as SwiftBrush v2 resizes its folder
      const resize = metric.resolution !== undefined ? resizeProtocolOfSide(metric.resolution) : undefined;
      const folder = resize ? join(o.workDir, resize) : g.folder;
      if (resize) await resizeImages(g.files, resize, folder, o.signal);
      const { sets, extractor } = await statisticsOfSets([metric.reference, folder], imageSets(metric.extractor, metric.mode as FidMode, o));
      const [ref, gen] = sets as [SetStatistics, SetStatistics];
      const fid = frechetDistance(ref.stats, gen.stats);
      // the generated images are a folder, so the extractor was loaded
      const reference = await referenceFields(metric.reference, metric.mode, extractor!.sha256, await referenceId(ref));
      return [metricRecord('fid', fid.distance, 'lower', { ...g.base, ...featureMetricProtocol(reference, metric.mode, extractor!, gen.stats.mu.length, resize) })];
    }
    case 'kid':
    case 'precision-recall': {
      const mode = (metric.name === 'kid' ? metric.mode : 'clean') as FidMode;
      const { sets, extractor } = await featuresOfSets([metric.reference, g.folder], imageSets(metric.extractor, mode, o));
      const [{ features: real }, { features: fake }] = sets as [SetFeatures, SetFeatures];
      const fallback = { reference: `folder:${metric.reference}:${real.rows}`, sha256: null };
      const protocol = { ...g.base, ...featureMetricProtocol(await referenceFields(metric.reference, mode, extractor.sha256, fallback), mode, extractor, real.dims) };
      if (metric.name === 'kid') {
        const size = Math.min(metric.subset_size, real.rows, fake.rows);
        const kid = kernelInceptionDistanceOnce(fake, real, { subsets: metric.subsets, subsetSize: size, referenceMemo: o.kidReference });
        return [metricRecord('kid', kid.mean, 'lower', { ...protocol, subsets: metric.subsets, subset_size: size }, kid.std)];
      }
      const pr = precisionRecall(real, fake, { k: metric.k });
      return [metricRecord('precision', pr.precision, 'higher', { ...protocol, k: metric.k }), metricRecord('recall', pr.recall, 'higher', { ...protocol, k: metric.k })];
    }
    case 'clip-score': {
      const files = { image: metric.image_encoder, text: metric.text_encoder, tokenizer: metric.tokenizer };
      const { result, models } = await clipScoreOfFiles(files, g.files, g.captions, { convention: metric.convention, prefix: metric.prefix, cache: o.generatedCache?.dir ?? false, batchSize: o.batchSize, signal: o.signal, models: o.extractors, decode: o.decode });
      const model = clipModelName(models.image.path, models.image.sha256, models.text.sha256);
      return [metricRecord('clip-score', result.score, 'higher', { ...g.base, generated_resize: 'none', convention: metric.convention, prefix: metric.prefix, model, model_sha256: `${models.image.sha256}+${models.text.sha256}` })];
    }
    case 'faithfulness':
      return faithfulness(metric.classifier, g, o);
  }
}

/**
 * A metric of the generated images measured by `shards` shard processes (`vsdlab shards worker`, where
 * `vsdlab run --shard-executor` puts them) and scored once from their merged state. The shard states stay in the
 * stage's work folder: a killed evaluation reruns only its unfinished shards.
 */
async function measureSharded(metric: Exclude<Metric, { name: 'faithfulness' }>, g: Generated, index: number, o: MeasureOptions & { shards: number; ctx: StageContext }): Promise<MetricRecord[]> {
  const dir = join(o.workDir, 'shards', `${index}-${metric.name}`);
  // precision/recall reads clean-mode features, as the in-process path does
  const mode = (metric.name === 'fid' || metric.name === 'kid' ? metric.mode : 'clean') as FidMode;
  // the same images as the in-process path: fid.resolution resizes the generated set first
  const resize = metric.name === 'fid' && metric.resolution !== undefined ? resizeProtocolOfSide(metric.resolution) : undefined;
  const folder = resize ? join(o.workDir, resize) : g.folder;
  if (resize) await resizeImages(g.files, resize, folder, o.signal);
  const target =
    metric.name === 'fid' ? { extractor: resolve(metric.extractor), fid: { reference: resolve(metric.reference) } }
    : metric.name === 'kid' ? { extractor: resolve(metric.extractor), kid: { reference: resolve(metric.reference), subsets: metric.subsets, subset_size: metric.subset_size, seed: 2020 } }
    : metric.name === 'precision-recall' ? { extractor: resolve(metric.extractor), pr: { reference: resolve(metric.reference), k: metric.k } }
    : { captions: g.samplesFile, clip: { image: resolve(metric.image_encoder), text: resolve(metric.text_encoder), tokenizer: resolve(metric.tokenizer), convention: metric.convention, prefix: metric.prefix } };
  await writeShardSpec(dir, { images: resolve(folder), shards: o.shards, mode, batch_size: o.batchSize, cache: o.cache.dir, ...target });
  await runStageShards(o.ctx, { action: 'worker', label: `${index}-${metric.name}`, dir, shards: missingShards(dir), total: o.shards });
  const r = await mergeAndScore(dir, o.signal);
  // the record the in-process path writes, so a cell's results do not depend on its shard count
  if (metric.name === 'clip-score') {
    const [image, text] = r.clip_score!.model.split('+') as [string, string];
    return [metricRecord('clip-score', r.clip_score!.score, 'higher', { ...g.base, generated_resize: 'none', convention: metric.convention, prefix: metric.prefix, model: clipModelName(metric.image_encoder, image, text), model_sha256: r.clip_score!.model })];
  }
  const extractor = { path: metric.extractor, sha256: r.extractor, input: { channels: 3, height: r.resolution, width: r.resolution } };
  if (metric.name === 'fid') {
    const images = r.fid_reference?.images;
    const fallback = images === undefined ? { reference: `npz:${basename(metric.reference)}`, sha256: await sha256File(metric.reference) } : { reference: `folder:${metric.reference}:${images}`, sha256: null };
    const reference = await referenceFields(metric.reference, metric.mode, r.extractor, fallback);
    return [metricRecord('fid', r.fid!, 'lower', { ...g.base, ...featureMetricProtocol(reference, metric.mode, extractor, r.dims, resize) })];
  }
  const rows = metric.name === 'kid' ? r.kid!.reference_rows : r.precision_recall!.reference_rows;
  const fallback = { reference: `folder:${metric.reference}:${rows}`, sha256: null };
  const protocol = { ...g.base, ...featureMetricProtocol(await referenceFields(metric.reference, mode, r.extractor, fallback), mode, extractor, r.dims) };
  if (metric.name === 'kid') return [metricRecord('kid', r.kid!.mean, 'lower', { ...protocol, subsets: metric.subsets, subset_size: r.kid!.subset_size }, r.kid!.std)];
  const pr = r.precision_recall!;
  return [metricRecord('precision', pr.precision, 'higher', { ...protocol, k: metric.k }), metricRecord('recall', pr.recall, 'higher', { ...protocol, k: metric.k })];
}

/** what a FID records of its reference: the .npz file's sha256, or the folder and its image count */
const referenceId = async (ref: SetStatistics): Promise<{ reference: string; sha256: string | null }> =>
  ref.summary ? { reference: `folder:${ref.summary.folder}:${ref.summary.images}`, sha256: null } : { reference: `npz:${basename(ref.path)}`, sha256: await sha256File(ref.path) };

/**
 * Prompt faithfulness: the attribute classifier reads each generated image; an image is faithful when the
 * background and every object its caption states (shape and colour at the stated position) are what it sees.
 */
async function faithfulness(classifier: string, g: Generated, o: MeasureOptions): Promise<MetricRecord[]> {
  const extractor = await o.extractors.extractor(classifier);
  const logits = extractor.select(['logits']);
  const stated = g.captions.map((c) => parseCaption(c));
  const byFile = new Map(g.files.map((f, i) => [f, i]));
  let faithful = 0;
  let matched = 0;
  let count = 0;
  await streamFeatures(g.files, { extractor: logits, mode: 'clean', batchSize: o.batchSize, ...(o.generatedCache ? { cache: o.generatedCache } : {}), signal: o.signal, decode: o.decode }, (batch) => {
    const rows = batch.features.logits as Float32Array;
    batch.files.forEach((file, r) => {
      const i = byFile.get(file);
      if (i === undefined) throw new BadInputError('FAITHFULNESS_FILE', `${file}: not a generated sample`);
      const check = checkFaithfulness(decodeAttributes(rows, r), stated[i]!);
      if (check.faithful) faithful++;
      matched += check.matched;
      count += check.stated;
    });
  });
  const protocol = { ...g.base, model: extractor.sha256 };
  return [metricRecord('faithfulness', faithful / g.files.length, 'higher', protocol), metricRecord('attribute-accuracy', count > 0 ? matched / count : 0, 'higher', protocol)];
}
