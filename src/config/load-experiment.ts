import { dirname, resolve } from 'node:path';
import { BadInputError } from '../errors.js';
import { IssuesError } from '../util/issues.js';
import { YamlSource, type YamlFileKind } from '../util/yaml-file.js';
import { experimentSchema } from './schema.js';
import { deepMerge, isPlainObject, splitKey, type PlainObject } from './dotted.js';
import type { Origin, OriginMap } from './origin.js';

/** One varying dimension: a matrix key, a named zip group, or the seeds. Each value row sets every key. */
export interface Dimension {
  kind: 'matrix' | 'zip' | 'seeds';
  name: string;
  keys: string[];
  /** rows[i][k] is the value of keys[k] in the i-th point of this dimension */
  rows: unknown[][];
  /** origins[i][k]: where rows[i][k] was written */
  origins: Origin[][];
  /** where the dimension itself was declared */
  origin: Origin;
}

export interface Assignment {
  values: Record<string, unknown>;
  origin: Origin;
}

/** An experiment with its `extends` chain applied; cells are not expanded yet. */
export interface ResolvedExperiment {
  name: string;
  description?: string;
  file: string;
  /** every file read, the experiment's own first */
  files: string[];
  base: PlainObject;
  baseOrigins: OriginMap;
  dimensions: Dimension[];
  exclude: Assignment[];
  include: Assignment[];
  slugKeys?: string[];
}

/** Experiment problems (the file's, its cells', the `--set` flags') are reported as one list. */
export const EXPERIMENT_FILE: YamlFileKind = {
  noun: 'experiment',
  code: 'CONFIG_INVALID',
  hint: 'fix the listed keys; `vsdlab schema` prints the accepted fields',
  unreadable: 'CONFIG_UNREADABLE',
};

export interface LoadOptions {
  /**
   * called with each `extends` target (absolute) before it is read, and where it was written; throws to refuse it
   * (the planner confines targets to the workspace, plan/workspace.ts)
   */
  checkExtends?: (target: string, written: string, origin: Origin) => void;
}

export function loadExperiment(file: string, seen: string[] = [], options: LoadOptions = {}): ResolvedExperiment {
  const abs = resolve(file);
  if (seen.includes(abs)) {
    throw new BadInputError('CONFIG_EXTENDS_CYCLE', `${file}: \`extends\` forms a cycle: ${[...seen, abs].join(' → ')}`);
  }
  const source = YamlSource.read(file, EXPERIMENT_FILE);
  if (!isPlainObject(source.toJS())) {
    throw new IssuesError(EXPERIMENT_FILE, [{ code: 'invalid_type', path: '', message: 'an experiment file must be a YAML mapping', file }]);
  }
  const exp = source.validate(experimentSchema);

  const at = (...yamlPath: PropertyKey[]): Origin => ({ source, yamlPath });
  let parent: ResolvedExperiment | undefined;
  if (exp.extends) {
    const target = resolve(dirname(abs), exp.extends);
    options.checkExtends?.(target, exp.extends, at('extends'));
    parent = loadExperiment(target, [...seen, abs], options);
  }

  const baseOrigins: OriginMap = new Map(parent?.baseOrigins);
  const base = deepMerge(parent?.base ?? {}, normaliseBase(exp.base ?? {}, [], at('base'), baseOrigins)) as PlainObject;

  const dims = new Map<string, Dimension>((parent?.dimensions ?? []).map((d) => [`${d.kind}:${d.name}`, d]));
  for (const [key, values] of Object.entries(exp.matrix ?? {})) {
    dims.set(`matrix:${key}`, {
      kind: 'matrix',
      name: key,
      keys: [key],
      rows: values.map((v) => [v]),
      origins: values.map((_, i) => [at('matrix', key, i)]),
      origin: at('matrix', key),
    });
  }
  for (const [group, columns] of Object.entries(exp.zip ?? {})) {
    const keys = Object.keys(columns);
    const length = Math.max(0, ...keys.map((k) => columns[k]?.length ?? 0));
    dims.set(`zip:${group}`, {
      kind: 'zip',
      name: group,
      keys,
      rows: Array.from({ length }, (_, i) => keys.map((k) => columns[k]?.[i])),
      origins: Array.from({ length }, (_, i) => keys.map((k) => at('zip', group, k, i))),
      origin: at('zip', group),
    });
  }
  const seeds = exp.seeds;
  if (seeds) {
    dims.delete('seeds:seed');
    dims.set('seeds:seed', {
      kind: 'seeds',
      name: 'seed',
      keys: ['seed'],
      rows: seeds.map((s) => [s]),
      origins: seeds.map((_, i) => [at('seeds', i)]),
      origin: at('seeds'),
    });
  }
  // seeds always vary innermost, whatever file declared them
  const ordered = [...dims.values()].sort((a, b) => Number(a.kind === 'seeds') - Number(b.kind === 'seeds'));

  const assignments = (list: Array<Record<string, unknown>> | undefined, key: 'exclude' | 'include'): Assignment[] =>
    (list ?? []).map((values, i) => ({ values, origin: at(key, i) }));

  return {
    name: exp.name,
    ...(exp.description === undefined ? {} : { description: exp.description }),
    file: abs,
    files: [abs, ...(parent?.files ?? [])],
    base,
    baseOrigins,
    dimensions: ordered,
    // lists replace the parent's, as in `base`
    exclude: exp.exclude ? assignments(exp.exclude, 'exclude') : (parent?.exclude ?? []),
    include: exp.include ? assignments(exp.include, 'include') : (parent?.include ?? []),
    ...((exp.slug ?? parent?.slugKeys) ? { slugKeys: exp.slug ?? parent?.slugKeys } : {}),
  };
}

/** Expands dotted keys in `base` and records where every key (leaf or not) was written. */
function normaliseBase(obj: PlainObject, cellPath: string[], origin: Origin, origins: OriginMap): PlainObject {
  let out: PlainObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const path = [...cellPath, ...splitKey(key)];
    const here: Origin = { ...origin, yamlPath: [...origin.yamlPath, key] };
    // a scalar or list replaces what a parent file wrote below this key; a mapping merges with it
    if (!isPlainObject(value)) for (const k of [...origins.keys()]) if (k.startsWith(`${path.join('.')}.`)) origins.delete(k);
    origins.set(path.join('.'), here);
    const normalised = isPlainObject(value) ? normaliseBase(value, path, here, origins) : value;
    out = deepMerge(out, nest(splitKey(key), normalised)) as PlainObject;
  }
  return out;
}

const nest = (path: string[], value: unknown): PlainObject =>
  path.reduceRight<unknown>((acc, seg) => ({ [seg]: acc }), value) as PlainObject;
