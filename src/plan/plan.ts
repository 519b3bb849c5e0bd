import { cellSchema, type CellConfig } from '../config/schema.js';
import { EXPERIMENT_FILE, loadExperiment } from '../config/load-experiment.js';
import { applyOverrides, type Override } from '../config/overrides.js';
import { expandGrid } from '../config/expand.js';
import { cellIssues } from '../config/zod-issues.js';
import { setPath, splitKey } from '../config/dotted.js';
import type { Origin, OriginMap } from '../config/origin.js';
import { assetPaths, diskAssetHasher, runId, type AssetRef } from './identity.js';
import { IssuesError, toDotPath, type Issue } from '../util/issues.js';
import { slugOf } from './slug.js';
import { findOrigin, issueAt } from '../config/origin.js';
import { walkWithSchema } from '../config/schema-walk.js';
import { BadInputError } from '../errors.js';
import { isInside, realPathOf, workspaceOf } from './workspace.js';

export interface Cell {
  index: number;
  /** full sha256 content hash */
  id: string;
  /** readable name from the varying keys, e.g. `vsd-eps-s0` */
  slug: string;
  /** `<slug>-<id8>`: the run directory's name */
  name: string;
  /** the values of the keys that vary across the plan */
  varying: Record<string, unknown>;
  config: CellConfig;
  assets: AssetRef[];
}

export interface Plan {
  experiment: string;
  description?: string;
  file: string;
  files: string[];
  varyingKeys: string[];
  cells: Cell[];
}

export interface PlanOptions {
  overrides?: readonly Override[];
  /** hashes an asset path; defaults to sha256 of the file or folder relative to the working directory, through the asset hash cache */
  hashAsset?: (path: string) => Promise<string | null>;
  /** progress of the default hashing of one asset path: files read (only those not in the asset hash cache) */
  hashProgress?: (path: string) => ((done: number, total: number) => void) | undefined;
  /** let asset paths and command-stage folders lead outside the experiment's workspace (plan/workspace.ts) */
  allowOutsideWorkspace?: boolean;
}

/** Experiment file → validated, identified cells. Throws an IssuesError listing every problem. */
export async function planExperiment(file: string, options: PlanOptions = {}): Promise<Plan> {
  // an `extends` target out of the workspace is refused before it is read, like an asset path
  const loaded = loadExperiment(file, [], options.allowOutsideWorkspace ? {} : { checkExtends: extendsInsideWorkspace(file) });
  const { experiment: exp, issues: overrideIssues } = applyOverrides(loaded, options.overrides ?? []);
  const pinned = new Set((options.overrides ?? []).map((o) => o.key));
  const grid = expandGrid(exp.dimensions, exp.exclude, exp.include, pinned);
  const issues: Issue[] = [...overrideIssues, ...grid.issues];

  const configs: Array<{ values: Record<string, unknown>; config: CellConfig; origins: OriginMap }> = [];
  for (const point of grid.points) {
    let raw = exp.base;
    const origins: OriginMap = new Map(exp.baseOrigins);
    for (const [key, value] of Object.entries(point.values)) {
      raw = setPath(raw, splitKey(key), value);
      for (const k of [...origins.keys()]) if (k === key || k.startsWith(`${key}.`)) origins.delete(k);
      const origin = point.origins[key];
      if (origin) origins.set(key, origin);
    }
    const parsed = cellSchema.safeParse(raw, { reportInput: true });
    if (parsed.success) configs.push({ values: point.values, config: parsed.data, origins });
    else issues.push(...cellIssues(parsed.error, origins));
  }
  if (issues.length > 0) throw new IssuesError(EXPERIMENT_FILE, issues);
  // before any asset is hashed: a path that leads out of the workspace is not read at all
  if (!options.allowOutsideWorkspace) assertInsideWorkspace(exp.file, configs);

  const varyingKeys = exp.slugKeys ?? varying(configs.map((c) => c.values));
  const disk = options.hashAsset ? undefined : diskAssetHasher(undefined, options.hashProgress);
  const hashAsset = options.hashAsset ?? disk!.hash;
  const hashes = new Map<string, string | null>();
  const cells: Cell[] = [];
  for (const [index, { values, config }] of configs.entries()) {
    const assets: AssetRef[] = [];
    for (const { key, path } of assetPaths(config)) {
      if (!hashes.has(path)) hashes.set(path, await hashAsset(path));
      assets.push({ key, path, sha256: hashes.get(path) ?? null });
    }
    const id = runId(config, assets);
    const slug = slugOf(values, varyingKeys);
    cells.push({ index, id, slug, name: `${slug}-${id.slice(0, 8)}`, varying: pick(values, varyingKeys), config, assets });
  }
  await disk?.save();
  const dup = duplicates(cells);
  if (dup.length > 0) throw new IssuesError(EXPERIMENT_FILE, dup);
  return {
    experiment: exp.name,
    ...(exp.description === undefined ? {} : { description: exp.description }),
    file: exp.file,
    files: exp.files,
    varyingKeys,
    cells,
  };
}

/** Keys whose value differs between at least two cells, in first-seen order, the seed last. */
function varying(points: ReadonlyArray<Record<string, unknown>>): string[] {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p)))];
  const varies = keys.filter((k) => new Set(points.map((p) => JSON.stringify(p[k]))).size > 1);
  return [...varies.filter((k) => k !== 'seed'), ...varies.filter((k) => k === 'seed')];
}

const pick = (values: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(keys.filter((k) => k in values).map((k) => [k, values[k]]));

function duplicates(cells: readonly Cell[]): Issue[] {
  const byId = new Map<string, Cell>();
  const issues: Issue[] = [];
  for (const c of cells) {
    const first = byId.get(c.id);
    if (first) issues.push({ code: 'duplicate_cell', path: c.slug, message: `cell ${c.index + 1} resolves to the same config as cell ${first.index + 1} (${first.slug}); drop one (include/exclude)` });
    else byId.set(c.id, c);
  }
  return issues;
}

/** a check of `extends` targets: inside the workspace of the experiment file given (the first of the chain) */
function extendsInsideWorkspace(file: string): (target: string, written: string, origin: Origin) => void {
  return (target, written, origin) => {
    // here, not before: the experiment file has been read, so it exists
    const roots = workspaceOf(file);
    // the file the loader will read, symlinks followed as the kernel follows them
    const real = realPathOf(target);
    if (roots.some((root) => isInside(root, real))) return;
    const issue = issueAt(origin, [], 'PATH_OUTSIDE_WORKSPACE', '', 'extends');
    throw new BadInputError(
      'PATH_OUTSIDE_WORKSPACE',
      `${issue.file ?? file}${issue.line ? `:${issue.line}` : ''}: extends = ${written} resolves to ${real}, outside the workspace (${roots.join(', ')})`,
      'move the file into the workspace, or pass --allow-outside-workspace (VSDLAB_ALLOW_OUTSIDE_WORKSPACE=1) if you trust this experiment',
    );
  };
}

/**
 * Every asset path and command-stage folder must lead inside the experiment's workspace once symlinks are
 * followed: an experiment file from elsewhere (a colleague's branch, a downloaded recipe) may not read, hash or
 * run things in ~/.ssh or /etc. A folder with a placeholder (`{run_dir}`) is filled by vsdlab itself.
 */
function assertInsideWorkspace(file: string, configs: ReadonlyArray<{ config: CellConfig; origins: OriginMap }>): void {
  const roots = workspaceOf(file);
  const outside: string[] = [];
  for (const { config, origins } of configs) {
    const check = (path: PropertyKey[], value: string): void => {
      const real = realPathOf(value);
      if (roots.some((root) => isInside(root, real))) return;
      const { origin, rest } = findOrigin(origins, path);
      const issue = issueAt(origin, rest, 'PATH_OUTSIDE_WORKSPACE', '', toDotPath(path));
      // a key no file wrote is the schema's default (resolved against the working directory) or a --set flag
      const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}` : `${file} (${origin?.label ?? 'default'})`;
      outside.push(`${where}: ${issue.path} = ${value} resolves to ${real}, outside the workspace (${roots.join(', ')})`);
    };
    walkWithSchema(cellSchema, config, (path, value, meta) => {
      if (meta.asset && typeof value === 'string') check(path, value);
    });
    for (const stage of ['distill', 'generate'] as const) {
      const cwd = config[stage].command?.cwd;
      if (cwd !== undefined && !cwd.includes('{')) check([stage, 'command', 'cwd'], cwd);
    }
  }
  const unique = [...new Set(outside)];
  if (unique.length === 0) return;
  throw new BadInputError(
    'PATH_OUTSIDE_WORKSPACE',
    `${unique[0]}${unique.length > 1 ? ` (and ${unique.length - 1} more)` : ''}`,
    'move the file into the workspace, or pass --allow-outside-workspace (VSDLAB_ALLOW_OUTSIDE_WORKSPACE=1) if you trust this experiment',
  );
}
