import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CellConfig } from '../config/schema.js';
import { parseCaption } from '../data/caption-parse.js';
import { BadInputError } from '../errors.js';
import { checkFaithfulness, decodeAttributes } from '../features/attribute-heads.js';
import { ClipModel, clipScore } from '../metrics/clip/index.js';
import { defaultFeatureCacheDir, featureOutputOf, imageSetFeatures, imageSetStatistics, OnnxExtractor, streamFeatures, type FidMode } from '../metrics/extract/index.js';
import { FeatureCache } from '../metrics/feature-cache/index.js';
import { frechetDistance, kernelInceptionDistance, precisionRecall, readStatsNpz, type FeatureStats } from '../metrics/stats/index.js';
import { metricRecord, samplesFileSchema, type MetricRecord, type Protocol } from '../tracking/results.js';
import type { Stage } from '../tracking/stage.js';
import { sha256File } from '../util/hash.js';

type Metric = CellConfig['evaluate']['metrics'][number];

const featureOutput = (e: OnnxExtractor): string => {
  const output = featureOutputOf(e.outputs);
  if (output === undefined) throw new BadInputError('EXTRACTOR_NO_OUTPUT', `${e.path} has no feature output (pool3 or pool)`, `its outputs: ${e.outputs.join(', ')}`);
  return output;
};

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
  version: 'evaluate-1',
  assets: ['evaluate'],
  inputs: (c) => ({ ...c.evaluate, batch_size: undefined }),
  async run(ctx) {
    const config = ctx.cell.config;
    const gen = ctx.upstream.generate;
    if (!gen) throw new Error('evaluate: no generated images');
    const samples = samplesFileSchema.parse(JSON.parse(readFileSync(join(gen.dir, 'samples.json'), 'utf8'))).samples;
    const captionsCfg = config.evaluate.captions;
    const generated: Generated = {
      folder: join(gen.dir, 'images'),
      files: samples.map((s) => join(gen.dir, s.file)),
      captions: samples.map((s) => s.caption),
      base: {
        dataset: captionsCfg ? `${basename(captionsCfg.annotations)}:${captionsCfg.protocol}` : null,
        captions: typeof gen.result.captions_fingerprint === 'string' ? gen.result.captions_fingerprint : null,
        n_samples: samples.length,
      },
    };
    const cache = new FeatureCache(defaultFeatureCacheDir());
    const batchSize = config.evaluate.batch_size;
    const records: MetricRecord[] = [];
    const metrics = config.evaluate.metrics;
    for (const [i, metric] of metrics.entries()) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      records.push(...(await measure(metric, generated, { cache, batchSize, signal: ctx.signal })));
      ctx.progress(i + 1, metrics.length);
    }
    return { metrics: records };
  },
};

interface MeasureOptions {
  cache: FeatureCache;
  batchSize: number;
  signal: AbortSignal;
}

async function measure(metric: Metric, g: Generated, o: MeasureOptions): Promise<MetricRecord[]> {
  switch (metric.name) {
    case 'fid': {
      const extractor = await OnnxExtractor.load(metric.extractor);
      try {
        const output = featureOutput(extractor);
        const options = { extractor: extractor.select([output]), mode: metric.mode as FidMode, output, cache: o.cache, batchSize: o.batchSize, signal: o.signal };
        const ref = await referenceStats(metric.reference, options);
        const { stats } = await imageSetStatistics(g.folder, options);
        const fid = frechetDistance(ref.stats, stats);
        return [metricRecord('fid', fid.distance, 'lower', { ...g.base, reference: ref.sha256, mode: metric.mode, model: extractor.sha256, resolution: extractor.input.height })];
      } finally {
        await extractor.dispose();
      }
    }
    case 'kid':
    case 'precision-recall': {
      const extractor = await OnnxExtractor.load(metric.extractor);
      try {
        const output = featureOutput(extractor);
        const mode = (metric.name === 'kid' ? metric.mode : 'clean') as FidMode;
        const options = { extractor: extractor.select([output]), mode, output, cache: o.cache, batchSize: o.batchSize, signal: o.signal };
        const real = (await imageSetFeatures(metric.reference, options)).features;
        const fake = (await imageSetFeatures(g.folder, options)).features;
        const protocol = { ...g.base, reference: await sha256File(metric.reference).catch(() => metric.reference), mode, model: extractor.sha256, resolution: extractor.input.height };
        if (metric.name === 'kid') {
          const size = Math.min(metric.subset_size, real.rows, fake.rows);
          const kid = kernelInceptionDistance(fake, real, { subsets: metric.subsets, subsetSize: size });
          return [metricRecord('kid', kid.mean, 'lower', { ...protocol, subsets: metric.subsets, subset_size: size }, kid.std)];
        }
        const pr = precisionRecall(real, fake, { k: metric.k });
        return [metricRecord('precision', pr.precision, 'higher', { ...protocol, k: metric.k }), metricRecord('recall', pr.recall, 'higher', { ...protocol, k: metric.k })];
      } finally {
        await extractor.dispose();
      }
    }
    case 'clip-score': {
      const model = await ClipModel.load({ image: metric.image_encoder, text: metric.text_encoder, tokenizer: metric.tokenizer });
      try {
        const r = await clipScore(model, g.files, g.captions, { convention: metric.convention, prefix: metric.prefix, cache: o.cache, batchSize: o.batchSize, signal: o.signal });
        return [metricRecord('clip-score', r.score, 'higher', { ...g.base, convention: metric.convention, prefix: metric.prefix, model: `${model.image.sha256}+${model.text.sha256}` })];
      } finally {
        await model.dispose();
      }
    }
    case 'faithfulness':
      return faithfulness(metric.classifier, g, o);
  }
}

/** FID reference statistics: a pytorch-fid/clean-fid .npz, or an image folder through the same extractor. */
async function referenceStats(reference: string, options: Parameters<typeof imageSetStatistics>[1]): Promise<{ stats: FeatureStats; sha256: string }> {
  if (reference.endsWith('.npz')) {
    const { mu, sigma } = readStatsNpz(reference);
    return { stats: { mu, sigma, n: 0 }, sha256: await sha256File(reference) };
  }
  const { stats, summary } = await imageSetStatistics(reference, options);
  return { stats, sha256: `folder:${summary.folder}:${summary.images}` };
}

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
