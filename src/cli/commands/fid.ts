import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
// image-sets.js itself, not the evaluation index (CLIP, the extractors): two .npz files need neither
import { statisticsOfSets, type SetStatistics } from '../../metrics/evaluation/image-sets.js';
import { frechetDistance, writeStatsNpz } from '../../metrics/stats/index.js';
import { extractorOptions, imageSetsOptions, type ExtractorArgs } from '../metric-options.js';
import type { Io } from '../io.js';

export const command = 'fid <paths..>';
export const describe = 'Fréchet Inception Distance between two image folders or .npz statistics (as pytorch-fid / clean-fid)';

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

const isNpz = (p: string): boolean => p.toLowerCase().endsWith('.npz');

export async function handler(args: FidArgs, io: Io, signal?: AbortSignal): Promise<number> {
  const paths = args.paths;
  const saving = args['save-stats'] !== undefined;
  if (saving ? paths.length !== 1 : paths.length !== 2) {
    throw new BadInputError('USAGE', saving ? '--save-stats takes exactly one image folder' : `fid takes two paths (folders or .npz), got ${paths.length}`);
  }
  if (!Number.isInteger(args.dims) || args.dims < 1) throw new BadInputError('USAGE', `--dims must be a positive integer, got ${args.dims}`);
  if (saving && isNpz(paths[0]!)) throw new BadInputError('USAGE', `--save-stats needs an image folder, got ${paths[0]}`);
  const { sets, extractor } = await statisticsOfSets(paths, { ...imageSetsOptions(args, io, signal), dims: args.dims });
  const provenance = extractor ? { path: extractor.path, sha256: extractor.sha256, provider: extractor.provider } : null;
  const describeSet = (s: SetStatistics) =>
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
  // before the distance: a prepared reference of another mode or extractor is refused, --json or not
  const { fidCommandProtocol } = await import('../../stages/evaluation-protocol.js');
  const protocol = await fidCommandProtocol(sets, args.mode, extractor);
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
          protocol,
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
}
