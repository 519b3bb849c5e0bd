import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import {
  featureOutputOf,
  FID_MODES,
  OnnxExtractor,
  defaultFeatureCacheDir,
  defaultInceptionPath,
  imageSetStatistics,
  type FidMode,
  type ImageSetSummary,
} from '../../metrics/extract/index.js';
import { FeatureCache } from '../../metrics/feature-cache/index.js';
import { frechetDistance, readStatsNpz, writeStatsNpz, type GaussianStats } from '../../metrics/stats/index.js';
import { jsonOption } from '../options.js';
import type { Io } from '../io.js';

export const command = 'fid <paths..>';
export const describe = 'Fréchet Inception Distance between two image folders or .npz statistics (as pytorch-fid / clean-fid)';

/** options fid and kid share */
export const extractorOptions = {
  mode: { choices: FID_MODES, default: 'clean' as FidMode, description: 'preprocessing of the reference: clean-fid clean, pytorch-fid, TF1/TTUR, torchmetrics>=1.8' },
  inception: { type: 'string', description: 'FID Inception ONNX model (tools/export_inception.py); default $VSDLAB_INCEPTION or models/fid-inception.onnx' },
  'batch-size': { type: 'number', default: 50, description: 'images per extractor run' },
  'skip-bad': { type: 'boolean', default: false, description: 'leave out (and count) images that cannot be decoded instead of stopping' },
  cache: { type: 'string', description: 'feature cache folder (default $VSDLAB_FEATURE_CACHE or ~/.cache/vsdlab/features); --no-cache to disable' },
  threads: { type: 'number', description: 'onnxruntime intra-op threads' },
  device: { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as const, description: 'execution provider; auto picks cuda when onnxruntime-node has it' },
  json: jsonOption,
} as const;

export interface ExtractorArgs {
  mode: FidMode;
  inception?: string;
  'batch-size': number;
  'skip-bad': boolean;
  cache?: string | false;
  threads?: number;
  device: 'auto' | 'cpu' | 'cuda';
  json: boolean;
}

export const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, demandOption: true, description: 'two image folders or .npz files; one folder with --save-stats' })
    .options(extractorOptions)
    .option('save-stats', { type: 'string', description: 'write the statistics (mu, sigma) of the single PATH to this .npz instead of computing a FID' })
    .option('dims', { type: 'number', default: 2048, description: 'feature dimensionality; must match the model (2048 for the FID Inception pool3)' })
    .example('$0 fid gen/ coco-ref.npz --mode clean', 'FID of a folder against saved statistics')
    .example('$0 fid ref/ --save-stats ref.npz', 'save statistics as pytorch-fid --save-stats does');

interface FidArgs extends ExtractorArgs {
  paths: string[];
  'save-stats'?: string;
  dims: number;
}

export async function loadExtractor(args: ExtractorArgs): Promise<OnnxExtractor> {
  const path = args.inception ?? defaultInceptionPath();
  const all = await OnnxExtractor.load(path, { provider: args.device, ...(args.threads ? { threads: args.threads } : {}) });
  const output = featureOutputOf(all.outputs);
  if (output === undefined) {
    await all.dispose();
    throw new BadInputError('EXTRACTOR_NO_OUTPUT', `${path} has no feature output (pool3 or pool)`, `its outputs: ${all.outputs.join(', ')}`);
  }
  return all.select([output]);
}

export const withProgress = (f: ((done: number, total: number) => void) | undefined) => (f ? { onProgress: f } : {});

export function openCache(args: Pick<ExtractorArgs, 'cache'>): FeatureCache | undefined {
  if (args.cache === false) return undefined;
  return new FeatureCache(args.cache ?? defaultFeatureCacheDir());
}

export function checkDims(extractor: OnnxExtractor, dims: number): void {
  const have = extractor.declaredDims(extractor.outputs[0]!);
  if (have !== undefined && have !== dims) {
    throw new BadInputError('STATS_DIMS_MISMATCH', `the model's ${extractor.outputs[0]} has ${have} features but --dims is ${dims}`, `pass --dims ${have}`);
  }
}

export function reportSkipped(io: Io, summary: ImageSetSummary): void {
  if (summary.skipped.length === 0) return;
  io.err(`skipped ${summary.skipped.length} unreadable image(s) in ${summary.folder}:`);
  for (const s of summary.skipped.slice(0, 20)) io.err(`  ${s.reason}`);
  if (summary.skipped.length > 20) io.err(`  ... and ${summary.skipped.length - 20} more`);
}

/** a throttled "N/M images" line on stderr, only when stderr is a terminal (logs and tests stay clean). */
export function progressReporter(io: Io, label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    io.err(`${label}: ${done}/${total} images`);
  };
}

const isNpz = (p: string): boolean => p.toLowerCase().endsWith('.npz');

export async function handler(args: FidArgs, io: Io, signal?: AbortSignal): Promise<number> {
  const paths = args.paths;
  const saving = args['save-stats'] !== undefined;
  if (saving ? paths.length !== 1 : paths.length !== 2) {
    throw new BadInputError('USAGE', saving ? '--save-stats takes exactly one image folder' : `fid takes two paths (folders or .npz), got ${paths.length}`);
  }
  if (!Number.isInteger(args.dims) || args.dims < 1) throw new BadInputError('USAGE', `--dims must be a positive integer, got ${args.dims}`);
  if (saving && isNpz(paths[0]!)) throw new BadInputError('USAGE', `--save-stats needs an image folder, got ${paths[0]}`);
  // statistics files first: a bad one fails before any image is read
  const saved = new Map<string, GaussianStats>();
  for (const path of paths.filter(isNpz)) {
    const s = readStatsNpz(path);
    if (s.mu.length !== args.dims) throw new BadInputError('STATS_DIMS_MISMATCH', `${path} holds ${s.mu.length}-d statistics but --dims is ${args.dims}`);
    saved.set(path, s);
  }
  const needsModel = paths.some((p) => !isNpz(p));
  const extractor = needsModel ? await loadExtractor(args) : undefined;
  try {
    if (extractor) checkDims(extractor, args.dims);
    const cache = extractor ? openCache(args) : undefined;
    const sets: Array<{ path: string; stats: GaussianStats; summary?: ImageSetSummary }> = [];
    for (const path of paths) {
      const fromFile = saved.get(path);
      if (fromFile) {
        sets.push({ path, stats: fromFile });
        continue;
      }
      const { stats, summary } = await imageSetStatistics(path, {
        extractor: extractor!,
        mode: args.mode,
        output: extractor!.outputs[0]!,
        batchSize: args['batch-size'],
        skipBad: args['skip-bad'],
        ...(cache ? { cache } : {}),
        ...(signal ? { signal } : {}),
        ...withProgress(progressReporter(io, path)),
      });
      reportSkipped(io, summary);
      sets.push({ path, stats, summary });
    }
    const provenance = extractor ? { path: extractor.path, sha256: extractor.sha256, provider: extractor.provider } : null;
    const describeSet = (s: (typeof sets)[number]) =>
      s.summary
        ? { path: s.path, kind: 'images', images: s.summary.images, skipped: s.summary.skipped.length, skipped_files: s.summary.skipped, cache_hits: s.summary.cacheHits }
        : { path: s.path, kind: 'npz' };
    if (saving) {
      const out = args['save-stats']!;
      const { mu, sigma } = sets[0]!.stats;
      await writeStatsNpz(out, { mu: Float64Array.from(mu), sigma: Float64Array.from(sigma) });
      if (args.json) io.out(JSON.stringify({ saved: out, mode: args.mode, dims: args.dims, inception: provenance, sets: sets.map(describeSet) }, null, 2));
      else io.out(`saved statistics of ${sets[0]!.summary!.images} images to ${out}`);
      return 0;
    }
    const r = frechetDistance(sets[0]!.stats, sets[1]!.stats);
    if (args.json) {
      io.out(
        JSON.stringify(
          {
            fid: r.distance,
            mode: args.mode,
            dims: args.dims,
            inception: provenance,
            sets: sets.map(describeSet),
            terms: { mean: r.meanTerm, trace1: r.trace1, trace2: r.trace2, trace_sqrt: r.traceSqrt, singular: r.singular },
            frechet_backend: r.backend,
          },
          null,
          2,
        ),
      );
    } else {
      if (r.singular) io.err('note: the covariance product is singular (fewer images than dims?); the value is exact for the given statistics but not comparable across set sizes');
      io.out(`FID:  ${r.distance}`);
    }
    return 0;
  } finally {
    await extractor?.dispose();
  }
}
