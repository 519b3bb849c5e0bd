import type { Argv } from 'yargs';
import { buildSyntheticDataset, verifyDatasetManifest } from '../../data/index.js';
import { jsonOption } from '../options.js';
import type { Io } from '../io.js';

export const command = 'datasets <action> <path>';
export const describe = 'build a dataset from its recipe (build RECIPE --out DIR) or check a built one against its manifest (verify DIR)';

export const builder = (y: Argv) =>
  y
    .positional('action', { choices: ['build', 'verify'] as const, demandOption: true })
    .positional('path', { type: 'string', demandOption: true, description: 'recipe YAML (build) or dataset folder (verify)' })
    .option('out', { type: 'string', description: 'build: output folder (default data/<recipe name>)' })
    .option('overwrite', { type: 'boolean', default: false, description: 'build: replace an existing folder' })
    .option('json', jsonOption)
    .example('$0 datasets build datasets/synthetic-shapes.yaml', 'the embedded captioned set in COCO-2014 format')
    .example('$0 datasets verify data/synthetic-shapes', 'every file against the manifest sha256');

interface Args {
  action: 'build' | 'verify';
  path: string;
  out?: string;
  overwrite: boolean;
  json: boolean;
}

export async function handler(args: Args, io: Io): Promise<number> {
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
