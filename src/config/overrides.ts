import { parse as parseYamlScalar } from 'yaml';
import { BadInputError } from '../errors.js';
import { setPath, splitKey } from './dotted.js';
import type { Issue } from '../util/issues.js';
import type { OriginMap } from './origin.js';
import type { ResolvedExperiment } from './load-experiment.js';

export interface Override {
  key: string;
  value: unknown;
  text: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** `distill.steps=200` → {key, value: 200}; values are YAML scalars or flow collections (`[q, v]`). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!KEY.test(key)) {
    throw new BadInputError('SET_SYNTAX', `--set ${text}: expected dotted.key=value`, 'e.g. --set distill.steps=200');
  }
  let value: unknown;
  try {
    value = parseYamlScalar(text.slice(eq + 1));
  } catch (e) {
    throw new BadInputError('SET_SYNTAX', `--set ${text}: the value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  return { key, value: value ?? null, text };
}

/**
 * Applies overrides after the file: a key that a matrix or `seeds` varies is pinned to the one value;
 * any other key is set on `base`. Values are validated with the cells, like values written in the file.
 */
export function applyOverrides(exp: ResolvedExperiment, overrides: readonly Override[]): { experiment: ResolvedExperiment; issues: Issue[] } {
  const issues: Issue[] = [];
  let base = exp.base;
  const baseOrigins: OriginMap = new Map(exp.baseOrigins);
  let dimensions = exp.dimensions;
  for (const o of overrides) {
    const origin = { yamlPath: [], label: `--set ${o.text}` };
    const dim = dimensions.find((d) => d.keys.includes(o.key));
    if (dim?.kind === 'zip') {
      issues.push({ code: 'set_zip_key', path: o.key, message: `is varied together with ${dim.keys.join(', ')} in zip group "${dim.name}"; it cannot be pinned alone (from --set ${o.text})` });
    } else if (dim) {
      dimensions = dimensions.map((d) => (d === dim ? { ...d, rows: [[o.value]], origins: [[origin]] } : d));
    } else {
      base = setPath(base, splitKey(o.key), o.value);
      for (const k of [...baseOrigins.keys()]) if (k.startsWith(`${o.key}.`)) baseOrigins.delete(k);
      baseOrigins.set(o.key, origin);
    }
  }
  return { experiment: { ...exp, base, baseOrigins, dimensions }, issues };
}
