import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import type { ProgressChoice, ProgressTask } from '../../exec/progress.js';
import { jsonOption, progressOption } from '../json-option.js';
import type { Io } from '../io.js';

export const command = 'datasets <action> <path>';
export const describe =
  'build a dataset from its recipe (build RECIPE --out DIR), check a built one against its manifest (verify DIR), or prepare COCO-2014 val for evaluation (prepare coco2014 --annotations --images --out)';

export const builder = (y: Argv) =>
  y
    .positional('action', { choices: ['build', 'verify', 'prepare'] as const, demandOption: true })
    .positional('path', { type: 'string', demandOption: true, description: 'recipe YAML (build), dataset folder (verify) or dataset name (prepare: coco2014)' })
    .option('out', { type: 'string', description: 'build, prepare: output folder (build default: data/<recipe name>)' })
    .option('overwrite', { type: 'boolean', default: false, description: 'build: replace an existing folder' })
    .option('annotations', { type: 'string', description: 'prepare: captions_val2014.json' })
    .option('images', { type: 'string', description: 'prepare: the val2014/ image folder' })
    .option('inception', { type: 'string', description: 'prepare: ONNX FID Inception; writes reference statistics (.npz) per FID mode' })
    .option('shard', { type: 'string', description: 'prepare: i/n, process every n-th block of images from block i; a final run without --shard merges' })
    .option('list', { type: 'string', array: true, description: 'prepare: a published caption list, NAME=PATH (sbv2-first-30k=dataset.json, gigagan-random-30k=captions_coco14_test.txt); default: looked for beside the annotations' })
    .option('caption-count', { type: 'number', description: 'prepare: captions per list / random-n subset (default 30000)' })
    .option('seed', { type: 'number', default: 0, description: 'prepare: random-n draw seed' })
    .option('resize', { type: 'string', array: true, description: 'prepare: reference resize protocols (default: center-crop-lanczos-256 center-crop-lanczos-512)' })
    .option('modes', { type: 'string', array: true, description: 'prepare: FID modes of the statistics (default: clean legacy-pytorch legacy-tensorflow)' })
    .option('threads', { type: 'number', default: 0, description: 'prepare: onnxruntime intra-op threads (0: its choice)' })
    .option('batch-size', { type: 'number', default: 16, description: 'prepare: images per Inception batch' })
    .option('block-size', { type: 'number', description: 'prepare: images per resumable block (default 256; fixed by the first run into --out)' })
    .option('strict', { type: 'boolean', default: false, description: 'prepare: a count other than the release\'s, a missing, unlisted or undecodable image is an error (exit 2)' })
    .option('json', jsonOption)
    .option('progress', progressOption)
    .example('$0 datasets build datasets/synthetic-shapes.yaml', 'the embedded captioned set in COCO-2014 format')
    .example('$0 datasets verify data/synthetic-shapes', 'every file against the manifest sha256')
    .example('$0 datasets prepare coco2014 --annotations annotations/captions_val2014.json --images val2014 --out data/coco2014 --inception models/fid-inception.onnx', 'caption subsets, 256/512 reference sets and their statistics');

interface Args {
  action: 'build' | 'verify' | 'prepare';
  path: string;
  out?: string;
  overwrite: boolean;
  annotations?: string;
  images?: string;
  inception?: string;
  shard?: string;
  list?: string[];
  captionCount?: number;
  seed: number;
  resize?: string[];
  modes?: string[];
  threads: number;
  batchSize: number;
  blockSize?: number;
  strict: boolean;
  json: boolean;
  progress: ProgressChoice;
}

export async function handler(args: Args, io: Io, signal?: AbortSignal): Promise<number> {
  if (args.action === 'prepare') return prepare(args, io, signal);
  const { buildSyntheticDataset, verifyDatasetManifest } = await import('../../data/index.js');
  if (args.action === 'build') {
    const out = args.out ?? `data/${args.path.replace(/^.*\//, '').replace(/\.ya?ml$/, '')}`;
    const manifest = await buildSyntheticDataset(args.path, out, { overwrite: args.overwrite });
    io.out(args.json ? JSON.stringify({ out, manifest }, null, 2) : `wrote ${out}: ${manifest.counts.train} train / ${manifest.counts.val} val images, fingerprint ${manifest.fingerprint.set.slice(0, 12)}`);
    return 0;
  }
  const check = await verifyDatasetManifest(args.path);
  if (args.json) io.out(JSON.stringify({ ok: check.ok, missing: check.missing, changed: check.changed, extra: check.extra }, null, 2));
  else if (check.ok) io.out(`${args.path}: every file matches its manifest`);
  else {
    for (const [what, files] of [['missing', check.missing], ['changed', check.changed], ['extra', check.extra]] as const) {
      for (const f of files) io.err(`${args.path}/${f}: ${what}`);
    }
  }
  return check.ok ? 0 : 1;
}

const need = (value: string | undefined, flag: string): string => {
  if (value === undefined || value === '') throw new BadInputError('USAGE', `datasets prepare: ${flag} is required`, 'vsdlab datasets prepare coco2014 --annotations captions_val2014.json --images val2014/ --out DIR');
  return value;
};

async function prepare(args: Args, io: Io, signal: AbortSignal | undefined): Promise<number> {
  if (args.path !== 'coco2014') throw new BadInputError('USAGE', `datasets prepare: unknown dataset "${args.path}"`, 'the one preparable dataset is coco2014');
  const { prepareCoco2014, parseListOption, parseShard, isResizeProtocol, RESIZE_PROTOCOL_NAMES, REFERENCE_FID_MODES } = await import('../../prepare/index.js');
  const { commandProgress } = await import('../../exec/progress.js');
  const resize = args.resize?.flatMap((r) => r.split(','));
  for (const r of resize ?? []) if (!isResizeProtocol(r)) throw new BadInputError('USAGE', `--resize ${r}: unknown resize protocol`, `one of ${RESIZE_PROTOCOL_NAMES.join(', ')}`);
  const modes = args.modes?.flatMap((m) => m.split(','));
  for (const m of modes ?? []) if (!(REFERENCE_FID_MODES as readonly string[]).includes(m)) throw new BadInputError('USAGE', `--modes ${m}: unknown FID mode`, `one of ${REFERENCE_FID_MODES.join(', ')}`);
  for (const [flag, v] of [['--caption-count', args.captionCount], ['--block-size', args.blockSize], ['--batch-size', args.batchSize]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new BadInputError('USAGE', `${flag} must be a positive integer, got ${v}`);
  }
  if (!Number.isSafeInteger(args.seed) || args.seed < 0) throw new BadInputError('USAGE', `--seed must be a non-negative integer, got ${args.seed}`);
  const lists = Object.fromEntries((args.list ?? []).map(parseListOption));
  const shard = args.shard !== undefined ? parseShard(args.shard) : undefined;
  const progress = commandProgress({ json: args.json, reporter: args.progress });
  // one task per phase of the preparation (decode + resize of each block, statistics, ...), ended when it completes
  const tasks = new Map<string, ProgressTask>();
  const stop = (): void => {
    for (const t of tasks.values()) t.end();
    tasks.clear();
  };
  try {
    const result = await prepareCoco2014({
      annotations: need(args.annotations, '--annotations'),
      images: need(args.images, '--images'),
      out: need(args.out, '--out'),
      lists,
      ...(args.captionCount !== undefined ? { captionCount: args.captionCount } : {}),
      seed: args.seed,
      ...(resize ? { resize: resize as never } : {}),
      ...(modes ? { modes: modes as never } : {}),
      ...(args.inception !== undefined ? { inception: args.inception } : {}),
      ...(args.threads ? { threads: args.threads } : {}),
      batchSize: args.batchSize,
      ...(args.blockSize !== undefined ? { blockSize: args.blockSize } : {}),
      ...(shard ? { shard } : {}),
      strict: args.strict,
      ...(signal ? { signal } : {}),
      onProgress: (p) => {
        let task = tasks.get(p.phase);
        if (!task) tasks.set(p.phase, (task = progress.task('prepare', p.phase, p.total, 'images')));
        task.update(p.done, p.total);
        if (p.done >= p.total) {
          task.end();
          tasks.delete(p.phase);
        }
      },
      onWarning: (line) => progress.note(`warning: ${line}`),
    });
    stop();
    if (result.kind === 'shard') {
      const line = `shard ${result.shard.index}/${result.shard.count}: ${result.processed} block(s) written, ${result.alreadyDone} already done; ${result.remaining} block(s) of the whole set still to do; run without --shard to merge`;
      io.out(args.json ? JSON.stringify({ event: 'result', shard: `${result.shard.index}/${result.shard.count}`, processed: result.processed, already_done: result.alreadyDone, remaining: result.remaining }) : line);
      return 0;
    }
    const m = result.manifest;
    if (args.json) io.out(JSON.stringify({ event: 'result', manifest: result.manifestPath, processed: result.processed, already_done: result.alreadyDone, dataset: m.dataset, references: m.references, statistics: m.statistics, captions: m.captions.map((c) => ('skipped' in c ? { protocol: c.protocol, skipped: c.skipped } : { protocol: c.protocol, file: c.file, count: c.count })), warnings: m.warnings }));
    else {
      io.out(`wrote ${result.manifestPath}: ${m.dataset}; ${m.decoding.ok} reference image(s) per resize protocol (${m.references.map((r) => r.protocol).join(', ')}), ${m.statistics.length} statistics file(s)`);
      for (const c of m.captions) io.out('skipped' in c ? `  captions ${c.protocol}: skipped: ${c.skipped}` : `  captions ${c.protocol}: ${c.count} → ${c.file}`);
      if (m.decoding.missing.length + m.decoding.skipped.length > 0) io.out(`  left out: ${m.decoding.missing.length} missing, ${m.decoding.skipped.length} undecodable (named in the manifest)`);
    }
    return 0;
  } finally {
    stop();
  }
}
