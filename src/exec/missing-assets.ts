/**
 * Before a run starts anything: every file or folder the selected cells read (the config's asset fields) must
 * exist. A paper-scale experiment names a dozen assets (the teacher, the released student, COCO, the metric
 * networks); finding them missing one by one, each after the cells before it ran for hours, helps nobody. The plan
 * already knows which are missing (their hash is null); this lists each once, one line each: where it goes, which
 * config key names it and what it is, and which cells need it. A cell with `distill.enabled: false` does not read
 * the distillation assets, so they are not asked of it.
 */
import { MissingAssetError } from '../errors.js';
import { cellSchema } from '../config/schema.js';
import { walkWithSchema } from '../config/schema-walk.js';
import type { Cell } from '../plan/plan.js';
import { toDotPath } from '../util/issues.js';

export interface MissingAsset {
  /** where it goes, as the experiment names it (relative paths are relative to the working directory) */
  path: string;
  /** the config keys that name it */
  keys: string[];
  /** what the schema says it is */
  what: string;
  /** the cells that read it (their slugs) */
  cells: string[];
}

const describedKeys = (cell: Cell): Map<string, string> => {
  const out = new Map<string, string>();
  walkWithSchema(cellSchema, cell.config, (path, _value, meta) => {
    const description = (meta as { description?: unknown }).description;
    if (meta.asset && typeof description === 'string') out.set(toDotPath(path), description);
  });
  return out;
};

/** the assets the cells need that do not exist, in the order the cells first name them */
export function missingAssets(cells: readonly Cell[]): MissingAsset[] {
  const byPath = new Map<string, MissingAsset>();
  for (const cell of cells) {
    const descriptions = describedKeys(cell);
    for (const asset of cell.assets) {
      if (asset.sha256 !== null) continue;
      if (!cell.config.distill.enabled && asset.key.startsWith('distill.')) continue;
      const entry = byPath.get(asset.path) ?? { path: asset.path, keys: [], what: descriptions.get(asset.key) ?? asset.key, cells: [] };
      if (!entry.keys.includes(asset.key)) entry.keys.push(asset.key);
      if (!entry.cells.includes(cell.slug)) entry.cells.push(cell.slug);
      byPath.set(asset.path, entry);
    }
  }
  return [...byPath.values()];
}

/** throws one MissingAssetError listing every missing asset of `cells` (exit 2), or returns when there is none */
export function assertAssetsPresent(experiment: string, cells: readonly Cell[]): void {
  const missing = missingAssets(cells);
  if (missing.length === 0) return;
  const width = Math.max(...missing.map((m) => m.path.length));
  const lines = missing.map((m) => {
    const who = m.cells.length === 1 ? `cell ${m.cells[0]!}` : m.cells.length === cells.length ? `all ${cells.length} cells` : `${m.cells.length} cells: ${m.cells.join(', ')}`;
    return `  ${m.path.padEnd(width)}  ${m.keys.join(', ')}: ${m.what} (${who})`;
  });
  const n = missing.length;
  throw new MissingAssetError(
    'ASSETS_MISSING',
    [`${experiment}: ${n} file${n === 1 ? '' : 's'} or folder${n === 1 ? '' : 's'} the cells read ${n === 1 ? 'is' : 'are'} missing; nothing was started:`, ...lines].join('\n'),
    'put each where its line says (relative paths are from the directory vsdlab runs in) or point the config key elsewhere (--set KEY=PATH); `vsdlab plan FILE` lists them too',
  );
}
