import type { Argv } from 'yargs';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { MissingAssetError } from '../../errors.js';
import { commandProgress, progressCallback, type ProgressChoice } from '../../exec/progress.js';
import { allowOutsideWorkspace, allowOutsideWorkspaceOption, jsonOption, parseOverrides, progressOption, setOption } from '../options.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Io } from '../io.js';

export const command = 'verify [targets..]';
export const describe = "re-hash assets whatever the hash cache says: an experiment's assets, files or folders, or (no target) every asset path the cache knows";

export const builder = (y: Argv) =>
  y
    .positional('targets', { type: 'string', array: true, description: 'experiment YAML files (their assets), files or folders' })
    .option('set', setOption)
    .option('allow-outside-workspace', allowOutsideWorkspaceOption)
    .option('json', jsonOption)
    .option('progress', progressOption)
    .example('$0 verify experiments/embedded-ablation.yaml', 'every asset the experiment names')
    .example('$0 verify models/sd21 data/coco/val2014', 'a model and an image folder');

interface VerifyArgs {
  targets?: string[];
  set?: string[];
  allowOutsideWorkspace?: boolean;
  json: boolean;
  progress: ProgressChoice;
}

interface AssetTarget {
  /** the dotted config keys that name it (empty for a path given on the command line) */
  keys: string[];
  path: string;
}

const isExperiment = (p: string): boolean => /\.ya?ml$/i.test(p) && existsSync(p) && statSync(p).isFile();

/**
 * Exit 0 when the cache held the truth for every file; 1 when some file's content changed while its size, mtime
 * and inode did not (the cache is corrected: the next `plan` sees the new content, so run ids change as they should).
 */
export async function handler(args: VerifyArgs, io: Io): Promise<number> {
  const { openAssetHashCache } = await import('../../plan/identity.js');
  const cache = openAssetHashCache();
  const progress = commandProgress({ json: args.json, reporter: args.progress });
  const targets = await resolveTargets(args, cache.knownPaths());
  const assets = [];
  const changed: Array<{ path: string; cached: string; sha256: string }> = [];
  const gone: string[] = [];
  for (const t of targets) {
    const abs = resolve(t.path);
    if (!existsSync(abs)) {
      if (t.keys.length === 0 && args.targets?.length) throw new MissingAssetError('VERIFY_MISSING', `${t.path}: no such file or folder`);
      cache.forget(abs);
      gone.push(t.path);
      continue;
    }
    const { sha256, files } = await cache.verifyPath(abs, progressCallback(progress, 'verify', t.path, 'files'));
    const counts = { unchanged: 0, 'stat-changed': 0, new: 0, 'content-changed-same-stat': 0 };
    for (const f of files) {
      counts[f.status]++;
      if (f.status === 'content-changed-same-stat') changed.push({ path: f.path, cached: f.cached!, sha256: f.sha256 });
    }
    assets.push({ keys: t.keys, path: t.path, sha256, files: files.length, counts });
  }
  await cache.save();
  if (args.json) {
    io.out(JSON.stringify({ ok: changed.length === 0, cache: cache.dir, assets, changed_without_stat_change: changed, missing: gone }, null, 2));
  } else {
    for (const a of assets) {
      const moved = a.counts['stat-changed'] + a.counts.new;
      io.out(`${a.sha256.slice(0, 12)}  ${a.path}${a.keys.length ? ` (${a.keys.join(', ')})` : ''}: ${a.files} file${a.files === 1 ? '' : 's'}${moved ? `, ${moved} not cached before` : ''}`);
    }
    for (const p of gone) io.out(`missing  ${p}`);
    for (const c of changed) io.err(`${c.path}: content changed without its size, mtime or inode changing (cached ${c.cached.slice(0, 12)}, now ${c.sha256.slice(0, 12)}); the cache is corrected`);
    if (changed.length === 0) io.out(`every file matches${cache.dir ? ` (cache: ${cache.dir})` : ''}`);
  }
  return changed.length === 0 ? 0 : EXIT_CODES.failure;
}

/** what each target names: an experiment's assets (by path, with every key naming it), a path, or every cached asset path */
async function resolveTargets(args: VerifyArgs, known: readonly string[]): Promise<AssetTarget[]> {
  if (!args.targets || args.targets.length === 0) return known.map((path) => ({ keys: [], path }));
  const byPath = new Map<string, AssetTarget>();
  const add = (path: string, key?: string): void => {
    const t = byPath.get(path) ?? { keys: [], path };
    if (key && !t.keys.includes(key)) t.keys.push(key);
    byPath.set(path, t);
  };
  for (const target of args.targets) {
    if (!isExperiment(target)) {
      add(target);
      continue;
    }
    const { planExperiment } = await import('../../plan/plan.js');
    // the plan only lists the asset paths here; verify does the hashing itself
    const plan = await planExperiment(target, { overrides: parseOverrides(args.set), hashAsset: async () => null, allowOutsideWorkspace: allowOutsideWorkspace(args.allowOutsideWorkspace) });
    for (const cell of plan.cells) for (const a of cell.assets) add(a.path, a.key);
  }
  return [...byPath.values()];
}
