import type { YamlSource } from '../util/yaml-file.js';
import { toDotPath, type Issue } from '../util/issues.js';

/** Where a value was written: a YAML file and the path inside it, or a command-line flag. */
export interface Origin {
  source?: YamlSource;
  yamlPath: readonly PropertyKey[];
  /** for values that did not come from a file, e.g. `--set distill.steps=5` */
  label?: string;
}

/** Origins of cell values, keyed by dotted cell path ("distill.student"). */
export type OriginMap = Map<string, Origin>;

export function issueAt(origin: Origin | undefined, extra: readonly PropertyKey[], code: string, message: string, cellPath?: string): Issue {
  const yamlPath = [...(origin?.yamlPath ?? []), ...extra];
  const path = cellPath ?? toDotPath(yamlPath);
  if (!origin?.source) return { code, path, message: origin?.label ? `${message} (from ${origin.label})` : message };
  const line = origin.source.lineOf(yamlPath);
  return { code, path, message, file: origin.source.file, ...(line === undefined ? {} : { line }) };
}

/** The origin of the deepest written ancestor of `path`, and the segments below it. */
export function findOrigin(origins: OriginMap, path: readonly PropertyKey[]): { origin?: Origin; rest: PropertyKey[] } {
  for (let n = path.length; n > 0; n--) {
    const origin = origins.get(toDotPath(path.slice(0, n)));
    if (origin) return { origin, rest: path.slice(n) as PropertyKey[] };
  }
  return { rest: [...path] };
}
