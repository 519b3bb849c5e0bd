import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CellConfig } from '../config/schema.js';
import { parseCaption } from '../data/caption-parse.js';
import { BadInputError } from '../errors.js';
import { checkFaithfulness, decodeAttributes } from '../features/attribute-heads.js';
import { clipScoreOfFiles, featuresOfSets, statisticsOfSets, type ImageSetsOptions, type SetFeatures, type SetStatistics } from '../metrics/evaluation/index.js';
import { defaultFeatureCacheDir, OnnxExtractor, streamFeatures, type FidMode } from '../metrics/extract/index.js';
import { FeatureCache } from '../metrics/feature-cache/index.js';
import { frechetDistance, kernelInceptionDistance, precisionRecall } from '../metrics/stats/index.js';
import { clipModelName } from '../metrics/protocol/evaluation-protocol.js';
import { referenceFields, resizeImages, resizeProtocolOfSide } from '../prepare/index.js';
import { metricRecord, samplesFileSchema, type MetricRecord, type Protocol } from '../tracking/results.js';
import { baseProtocol, featureMetricProtocol } from './evaluation-protocol.js';
import type { Stage } from '../tracking/stage.js';
import { sha256File } from '../util/hash.js';

type Metric = CellConfig['evaluate']['metrics'][number];

interface Generated {
  folder: string;
  files: string[];
  captions: string[];
  /** the protocol fields every metric shares */
  base: Protocol;
}

/** Measures the generated images of a cell with every metric it names; each number carries its protocol. */
export const evaluateStage: Stage = {
  name: 'evaluate',
  // 2: protocols record names (dataset, caption protocol, reference set and resize, extractor, CLIP model) beside hashes
  version: 'evaluate-2',
  assets: ['evaluate'],
  inputs: (c) => ({ ...c.evaluate, batch_size: undefined }),
  async run(ctx) {
    const config = ctx.cell.config;
    const gen = ctx.upstream.generate;
    if (!gen) throw new Error('evaluate: no generated images');
    const samples = samplesFileSchema.parse(JSON.parse(readFileSync(join(gen.dir, 'samples.json'), 'utf8'))).samples;
    const generated: Generated = {
      folder: join(gen.dir, 'images'),
      files: samples.map((s) => join(gen.dir, s.file)),
      captions: samples.map((s) => s.caption),
      base: await baseProtocol(config.evaluate, typeof gen.result.captions_fingerprint === 'string' ? gen.result.captions_fingerprint : null, samples.length),
    };
    const cache = new FeatureCache(defaultFeatureCacheDir());
    const batchSize = config.evaluate.batch_size;
    const records: MetricRecord[] = [];
    const metrics = config.evaluate.metrics;
    for (const [i, metric] of metrics.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      records.push(...(await measure(metric, generated, { cache, batchSize, signal: ctx.signal, workDir: ctx.workDir })));
      ctx.progress(i + 1, metrics.length);
    }
    return { metrics: records };
  },
};

interface MeasureOptions {
  /** the stage's working folder (generated images resized for a metric go there, and survive a kill) */
  workDir: string;
  cache: FeatureCache;
  batchSize: number;
  signal: AbortSignal;
}

/** the reference and the generated images through one extractor, with the stage's cache and batch size */
const imageSets = (extractor: string, mode: FidMode, o: MeasureOptions): ImageSetsOptions => ({ extractor: { path: extractor }, mode, cache: o.cache.dir, batchSize: o.batchSize, signal: o.signal });

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
        const kid = kernelInceptionDistance(fake, real, { subsets: metric.subsets, subsetSize: size });
        return [metricRecord('kid', kid.mean, 'lower', { ...protocol, subsets: metric.subsets, subset_size: size }, kid.std)];
      }
      const pr = precisionRecall(real, fake, { k: metric.k });
      return [metricRecord('precision', pr.precision, 'higher', { ...protocol, k: metric.k }), metricRecord('recall', pr.recall, 'higher', { ...protocol, k: metric.k })];
    }
    case 'clip-score': {
      const files = { image: metric.image_encoder, text: metric.text_encoder, tokenizer: metric.tokenizer };
      const { result, models } = await clipScoreOfFiles(files, g.files, g.captions, { convention: metric.convention, prefix: metric.prefix, cache: o.cache.dir, batchSize: o.batchSize, signal: o.signal });
      const model = clipModelName(models.image.path, models.image.sha256, models.text.sha256);
      return [metricRecord('clip-score', result.score, 'higher', { ...g.base, generated_resize: 'none', convention: metric.convention, prefix: metric.prefix, model, model_sha256: `${models.image.sha256}+${models.text.sha256}` })];
    }
    case 'faithfulness':
      return faithfulness(metric.classifier, g, o);
  }
}

/** what a FID records of a reference that no prepared manifest names: the folder and its image count, or the .npz by its sha256 */
const referenceId = async (ref: SetStatistics): Promise<{ reference: string; sha256: string | null }> =>
  ref.summary ? { reference: `folder:${ref.summary.folder}:${ref.summary.images}`, sha256: null } : { reference: `npz:${basename(ref.path)}`, sha256: await sha256File(ref.path) };

/**
 * Prompt faithfulness: the attribute classifier reads each generated image; an image is faithful when the
 * background and every object its caption states (shape and colour at the stated position) are what it sees.
 */
async function faithfulness(classifier: string, g: Generated, o: MeasureOptions): Promise<MetricRecord[]> {
  const extractor = await OnnxExtractor.load(classifier);
  try {
    const logits = extractor.select(['logits']);
    const stated = g.captions.map((c) => parseCaption(c));
    const byFile = new Map(g.files.map((f, i) => [f, i]));
    let faithful = 0;
    let matched = 0;
    let count = 0;
    await streamFeatures(g.files, { extractor: logits, mode: 'clean', batchSize: o.batchSize, cache: o.cache, signal: o.signal }, (batch) => {
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
  } finally {
    await extractor.dispose();
  }
}
