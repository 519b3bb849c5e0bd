import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import { featuresOfSets } from '../../metrics/evaluation/index.js';
import { kernelInceptionDistance } from '../../metrics/stats/index.js';
import { extractorOptions, imageSetsOptions, type ExtractorArgs } from '../metric-options.js';
import { commandProgress } from '../../exec/progress.js';
import type { Io } from '../io.js';

export const command = 'kid <paths..>';
export const describe = 'Kernel Inception Distance (unbiased MMD², cubic kernel, seeded subsets) between two image folders';

export const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, demandOption: true, description: 'two image folders' })
    .options(extractorOptions)
    .option('subsets', { type: 'number', default: 100, description: 'number of random subsets' })
    .option('subset-size', { type: 'number', default: 1000, description: 'largest subset size (capped at the smaller set)' })
    .option('seed', { type: 'number', default: 2020, description: "seed of numpy's RandomState that draws the subsets (torch-fidelity: 2020)" })
    .option('draw', {
      choices: ['torch-fidelity', 'clean-fid'] as const,
      default: 'torch-fidelity' as const,
      description: "subset draw order: torch-fidelity (first set first) or clean-fid's kernel_distance after np.random.seed(seed) (second set first)",
    });

interface KidArgs extends ExtractorArgs {
  paths: string[];
  subsets: number;
  'subset-size': number;
  seed: number;
  draw: 'torch-fidelity' | 'clean-fid';
}

export async function handler(args: KidArgs, io: Io, signal?: AbortSignal): Promise<number> {
  if (args.paths.length !== 2) throw new BadInputError('USAGE', `kid takes two image folders, got ${args.paths.length} path(s)`);
  for (const p of args.paths) {
    if (p.toLowerCase().endsWith('.npz')) throw new BadInputError('USAGE', `KID needs every feature, not statistics: give an image folder instead of ${p}`);
  }
  const { sets, extractor } = await featuresOfSets(args.paths, imageSetsOptions(args, commandProgress({ json: args.json, reporter: args.progress }), signal));
  const [a, b] = args.draw === 'clean-fid' ? [sets[1]!, sets[0]!] : [sets[0]!, sets[1]!];
  const r = kernelInceptionDistance(a.features, b.features, { subsets: args.subsets, subsetSize: args['subset-size'], seed: args.seed });
  if (args.json) {
    io.out(
      JSON.stringify(
        {
          kid: r.mean,
          kid_std: r.std,
          subset_size: r.subsetSize,
          subsets: r.values.length,
          seed: args.seed,
          draw: args.draw,
          mode: args.mode,
          inception: { path: extractor.path, sha256: extractor.sha256, provider: extractor.provider },
          sets: sets.map((s) => ({ path: s.summary.folder, images: s.summary.images, skipped: s.summary.skipped.length, skipped_files: s.summary.skipped, cache_hits: s.summary.cacheHits })),
        },
        null,
        2,
      ),
    );
  } else {
    io.out(`KID:  ${r.mean} ± ${r.std} (${r.values.length} subsets of ${r.subsetSize})`);
  }
  return 0;
}
