import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import { CLIP_CONVENTIONS, type ClipConventionName } from '../../metrics/clip/clip-score.js';
import { defaultFeatureCacheDir, defaultInceptionPath, FID_MODES, type FidMode } from '../../metrics/extract/index.js';
import { packageRoot } from '../../tracking/provenance.js';
import { jsonOption } from '../options.js';
import type { Io } from '../io.js';

export const command = 'shards <action> <dir>';
export const describe = 'evaluate an image folder in shards (pool workers or a Slurm array) and merge them exactly: run, worker, merge; generate-worker: one shard of a cell\'s generation (started by `vsdlab run`)';

export const builder = (y: Argv) =>
  y
    .positional('action', { choices: ['run', 'worker', 'merge', 'generate-worker'] as const, demandOption: true, description: 'run: every missing shard, then merge; worker: one shard (--shard i/n); merge: score finished shards; generate-worker: one shard of a cell\'s generation (--shard i/n)' })
    .positional('dir', { type: 'string', demandOption: true, description: 'the evaluation folder: spec.json, one state per shard, result.json' })
    .option('images', { type: 'string', description: 'run: the image folder to evaluate (needed the first time; later runs read spec.json)' })
    .option('captions', { type: 'string', description: "run: the images' captions in listing order (.txt one a line, datasets prepare's captions/*.json, or a samples.json)" })
    .option('shards', { type: 'number', default: 2, description: 'run: how many contiguous shards the images are cut into' })
    .option('shard', { type: 'string', description: 'worker, generate-worker: which shard, i/n' })
    .option('executor', { choices: ['pool', 'slurm'] as const, default: 'pool' as const, description: 'run: local worker processes, or one sbatch --array job (waited for)' })
    .option('jobs', { alias: 'j', type: 'number', default: 2, description: 'run --executor pool: workers at once' })
    .option('inception', { type: 'string', description: 'feature extractor ONNX (default $VSDLAB_INCEPTION or models/fid-inception.onnx)' })
    .option('mode', { choices: FID_MODES, default: 'clean' as FidMode, description: 'preprocessing and mean convention' })
    .option('fid-reference', { type: 'string', description: 'FID against this .npz or image folder' })
    .option('kid-reference', { type: 'string', description: 'KID against this image folder' })
    .option('kid-subsets', { type: 'number', default: 100 })
    .option('kid-subset-size', { type: 'number', default: 1000 })
    .option('kid-seed', { type: 'number', default: 2020 })
    .option('pr-reference', { type: 'string', description: 'precision and recall against this image folder (k-NN radii, clean mode)' })
    .option('pr-k', { type: 'number', default: 3, description: 'the k of precision/recall' })
    .option('clip', { type: 'string', description: 'CLIP score with the model folder holding image.onnx, text.onnx, tokenizer.json (needs --captions)' })
    .option('clip-convention', { choices: CLIP_CONVENTIONS, default: 'cosine-mean' as ClipConventionName })
    .option('clip-prefix', { type: 'string', description: "overrides the convention's caption prefix" })
    .option('batch-size', { type: 'number', default: 50 })
    .option('cache', { type: 'string', description: 'feature cache folder (default $VSDLAB_FEATURE_CACHE or ~/.cache/vsdlab/features); --no-cache to disable' })
    .option('slurm-partition', { type: 'string' })
    .option('slurm-time', { type: 'string' })
    .option('slurm-cpus', { type: 'number' })
    .option('slurm-mem', { type: 'string' })
    .option('json', jsonOption)
    .example('$0 shards run out/eval --images gen/ --captions gen/samples.json --fid-reference ref.npz --shards 8 -j 4', 'eight shards on four local workers')
    .example('$0 shards run out/eval --images gen/ --fid-reference ref.npz --shards 64 --executor slurm', 'a 64-task Slurm array, merged when it ends');

interface Args {
  action: 'run' | 'worker' | 'merge' | 'generate-worker';
  dir: string;
  images?: string;
  captions?: string;
  shards: number;
  shard?: string;
  executor: 'pool' | 'slurm';
  jobs: number;
  inception?: string;
  mode: FidMode;
  'fid-reference'?: string;
  'kid-reference'?: string;
  'kid-subsets': number;
  'kid-subset-size': number;
  'kid-seed': number;
  'pr-reference'?: string;
  'pr-k': number;
  clip?: string;
  'clip-convention': ClipConventionName;
  'clip-prefix'?: string;
  'batch-size': number;
  cache?: string | false;
  'slurm-partition'?: string;
  'slurm-time'?: string;
  'slurm-cpus'?: number;
  'slurm-mem'?: string;
  json: boolean;
}

export async function handler(args: Args, io: Io, signal: AbortSignal): Promise<number> {
  const ev = await import('../../metrics/evaluation/sharded-evaluation.js');
  const dir = resolve(args.dir);
  if (args.action === 'worker' || args.action === 'generate-worker') signal = AbortSignal.any([signal, orphaned()]);
  if (args.action === 'generate-worker') {
    if (!args.shard) throw new BadInputError('USAGE', 'shards generate-worker needs --shard i/n');
    const { parseShardSpec } = await import('../../metrics/shards/index.js');
    const { index, shards } = parseShardSpec(args.shard);
    const { runGenerateShard } = await import('../../stages/generate-shard-worker.js');
    let last = 0;
    const { record, ran } = await runGenerateShard(dir, index, shards, {
      signal,
      onProgress: (done, total) => {
        if (Date.now() - last < 5000 && done < total) return;
        last = Date.now();
        io.err(`generate shard ${index}/${shards}: ${done}/${total} images`);
      },
    });
    io.err(`generate shard ${index}/${shards}: ${ran ? 'done' : 'already done'}, images ${record.start}..${record.end}`);
    return 0;
  }
  if (args.action === 'worker') {
    if (!args.shard) throw new BadInputError('USAGE', 'shards worker needs --shard i/n');
    const { parseShardSpec } = await import('../../metrics/shards/index.js');
    const { index, shards } = parseShardSpec(args.shard);
    const spec = ev.readShardSpec(dir);
    if (shards !== spec.shards) throw new BadInputError('SHARDS_SPEC', `--shard ${args.shard}: ${ev.specPath(dir)} cuts the images into ${spec.shards} shards`);
    let last = 0;
    const { state, ran } = await ev.runShard(dir, index, {
      signal,
      // periodic plain lines: workers and Slurm tasks write to pipes and log files, not terminals
      onProgress: (done, total) => {
        if (Date.now() - last < 5000 && done < total) return;
        last = Date.now();
        io.err(`shard ${index}/${shards}: ${done}/${total} images`);
      },
    });
    io.err(`shard ${index}/${shards}: ${ran ? 'done' : 'already done'}, images ${state.start}..${state.end}`);
    return 0;
  }
  if (args.action === 'run') {
    if (args.images) await ev.writeShardSpec(dir, specOf(args));
    const missing = ev.missingShards(dir);
    const spec = ev.readShardSpec(dir);
    if (missing.length > 0) {
      const workerArgv = [join(packageRoot, 'bin', 'vsdlab.js'), 'shards', 'worker', dir];
      io.err(`shards: ${missing.length} of ${spec.shards} shard(s) to run (${args.executor})`);
      if (args.executor === 'pool') {
        const { runProcessPool } = await import('../../util/process-pool.js');
        await runProcessPool({ shards: missing, jobs: args.jobs, argv: (i) => [...workerArgv, '--shard', `${i}/${spec.shards}`], onLine: (_, line) => io.err(line), signal });
      } else {
        const { submitShardArray } = await import('../../exec/slurm.js');
        const job = await submitShardArray({
          name: dir.replace(/^.*\//, ''),
          dir: join(dir, 'slurm'),
          workerArgv: [process.execPath, ...workerArgv],
          shards: missing,
          total: spec.shards,
          wait: true,
          ...(args['slurm-partition'] ? { partition: args['slurm-partition'] } : {}),
          ...(args['slurm-time'] ? { time: args['slurm-time'] } : {}),
          ...(args['slurm-cpus'] ? { cpus: args['slurm-cpus'] } : {}),
          ...(args['slurm-mem'] ? { mem: args['slurm-mem'] } : {}),
        });
        io.err(`shards: Slurm job ${job.jobId} ended`);
      }
      const still = ev.missingShards(dir);
      if (still.length > 0) throw new BadInputError('SHARDS_INCOMPLETE', `shards ${still.join(', ')} of ${dir} left no state`, 'see the workers\' messages above, then rerun');
    }
  }
  const result = await ev.mergeAndScore(dir, signal);
  if (args.json) io.out(JSON.stringify(result, null, 2));
  else {
    io.out(`${result.images} images in ${result.shards} shard(s), ${result.mode}`);
    if (result.fid !== undefined) io.out(`FID:  ${result.fid}`);
    if (result.kid) io.out(`KID:  ${result.kid.mean} ± ${result.kid.std} (${result.kid.subsets} subsets of ${result.kid.subset_size})`);
    if (result.precision_recall) io.out(`precision: ${result.precision_recall.precision}  recall: ${result.precision_recall.recall} (k ${result.precision_recall.k})`);
    if (result.clip_score) io.out(`CLIP: ${result.clip_score.score} (${result.clip_score.convention})`);
  }
  return 0;
}

/**
 * Aborts when the process that started this pool worker is gone (killed with SIGKILL, it could not stop its
 * workers): an orphaned worker would go on writing into a stage folder that the rerun resumes. A Slurm task's parent
 * is its step daemon, which outlives it; only pool workers (VSDLAB_WORKER set) watch.
 */
function orphaned(): AbortSignal {
  const controller = new AbortController();
  if (process.env['VSDLAB_WORKER'] === undefined) return controller.signal;
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(watch);
      controller.abort(new Error('the process that started this worker has exited'));
    }
  }, 500);
  watch.unref();
  return controller.signal;
}

function specOf(args: Args): import('../../metrics/evaluation/sharded-evaluation.js').ShardSpec {
  if (!args['fid-reference'] && !args['kid-reference'] && !args['pr-reference'] && !args.clip) throw new BadInputError('USAGE', 'shards run: name a metric (--fid-reference, --kid-reference, --pr-reference or --clip)');
  if (args.clip && !args.captions) throw new BadInputError('USAGE', 'shards run --clip needs --captions FILE (one caption per image)');
  const cache = args.cache === false ? null : resolve(args.cache ?? defaultFeatureCacheDir());
  return {
    images: resolve(args.images!),
    ...(args.captions ? { captions: resolve(args.captions) } : {}),
    shards: args.shards,
    extractor: resolve(args.inception ?? defaultInceptionPath()),
    mode: args.mode,
    batch_size: args['batch-size'],
    cache,
    ...(args['fid-reference'] ? { fid: { reference: resolve(args['fid-reference']) } } : {}),
    ...(args['pr-reference'] ? { pr: { reference: resolve(args['pr-reference']), k: args['pr-k'] } } : {}),
    ...(args['kid-reference'] ? { kid: { reference: resolve(args['kid-reference']), subsets: args['kid-subsets'], subset_size: args['kid-subset-size'], seed: args['kid-seed'] } } : {}),
    ...(args.clip
      ? { clip: { image: join(resolve(args.clip), 'image.onnx'), text: join(resolve(args.clip), 'text.onnx'), tokenizer: join(resolve(args.clip), 'tokenizer.json'), convention: args['clip-convention'], ...(args['clip-prefix'] !== undefined ? { prefix: args['clip-prefix'] } : {}) } }
      : {}),
  };
}
