import { cellSchema, type CellConfig } from '../config/schema.js';
import { walkWithSchema } from '../config/schema-walk.js';
import { toDotPath } from '../util/issues.js';
import { hashValue } from '../util/hash.js';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { AssetHashCache, type HashProgress } from '../util/asset-hash-cache.js';
import { onnxCompanionFiles } from '../metrics/extract/onnx-external-data.js';

/** Declared per algorithm change, not per commit: a README edit must not invalidate every cached result. */
export const CODE_VERSION = 'vsdlab-1';

export interface AssetRef {
  /** dotted key in the cell config */
  key: string;
  /** the path as written */
  path: string;
  /** sha256 of the file or folder; null when it does not exist (yet) */
  sha256: string | null;
}

/** The config with operational fields (logging cadence, notes, tags) removed: what determines the results. */
export function identityConfig(config: CellConfig): unknown {
  const drop: PropertyKey[][] = [];
  walkWithSchema(cellSchema, config, (path, _value, meta) => {
    if (meta.identity === false) drop.push(path);
  });
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of drop) {
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k as string], copy);
    if (parent && typeof parent === 'object') delete (parent as Record<PropertyKey, unknown>)[path.at(-1) as string];
  }
  return copy;
}

/** Every asset path a cell names, in schema order, then the files its command stages run. */
export function assetPaths(config: CellConfig): Array<{ key: string; path: string }> {
  const out: Array<{ key: string; path: string }> = [];
  walkWithSchema(cellSchema, config, (path, value, meta) => {
    if (meta.asset && typeof value === 'string') out.push({ key: toDotPath(path), path: value });
  });
  return [...out, ...commandFiles(config)];
}

/**
 * The arguments of a command stage that name a file inside the workspace (the user's program, or the script an
 * interpreter runs): their content joins the run id, as an asset's does. A system program (/usr/bin/python3, a
 * bare name looked up on PATH) does not, nor does an argument with a placeholder (an output, a generated list).
 */
function commandFiles(config: CellConfig): Array<{ key: string; path: string }> {
  const out: Array<{ key: string; path: string }> = [];
  const workspace = process.cwd();
  for (const stage of ['distill', 'generate'] as const) {
    const command = config[stage].command;
    if (!command) continue;
    const cwd = command.cwd && !command.cwd.includes('{') ? resolve(command.cwd) : workspace;
    command.argv.forEach((arg, i) => {
      // argv[0] without a slash is looked up on PATH, as execvp does
      if (arg === '' || arg.includes('{') || (i === 0 && !arg.includes('/'))) return;
      const abs = resolve(cwd, arg);
      const inside = relative(workspace, abs);
      if (inside.startsWith('..') || isAbsolute(inside)) return;
      if (statSync(abs, { throwIfNoEntry: false })?.isFile()) out.push({ key: `${stage}.command.argv[${i}]`, path: abs });
    });
  }
  return out;
}

/** Content hash of what determines a cell's results: config, code version and asset contents. */
export function runId(config: CellConfig, assets: readonly AssetRef[], codeVersion = CODE_VERSION): string {
  return hashValue({
    config: identityConfig(config),
    code: codeVersion,
    assets: assets.map((a) => [a.key, a.sha256]),
  });
}

/** the asset-hash cache plan and verify use: an ONNX model's external-data files are part of the model */
export const openAssetHashCache = (): AssetHashCache => AssetHashCache.open(undefined, onnxCompanionFiles);

/**
 * Hashes asset paths from disk through the per-file stat cache (util/asset-hash-cache.ts); `save` records what
 * was hashed. A path that does not exist (yet) hashes to null.
 */
export function diskAssetHasher(
  cache: AssetHashCache = openAssetHashCache(),
  progress?: (path: string) => HashProgress | undefined,
): { hash(path: string): Promise<string | null>; save(): Promise<boolean> } {
  return {
    hash: async (path) => {
      const abs = resolve(path);
      return existsSync(abs) ? cache.hashPath(abs, progress?.(path)) : null;
    },
    save: () => cache.save(),
  };
}
