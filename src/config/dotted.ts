/** Plain-object helpers for dotted keys ("distill.student.parameterization"). Arrays are values, never merged. */

export type PlainObject = Record<string, unknown>;

export const isPlainObject = (value: unknown): value is PlainObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const splitKey = (key: string): string[] => key.split('.');

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Returns a copy of `obj` with `value` at `path`, creating objects on the way. */
export function setPath(obj: PlainObject, path: readonly string[], value: unknown): PlainObject {
  const [head, ...rest] = path;
  if (head === undefined) throw new Error('setPath: empty path');
  const out: PlainObject = { ...obj };
  if (rest.length === 0) out[head] = value;
  else out[head] = setPath(isPlainObject(obj[head]) ? obj[head] : {}, rest, value);
  return out;
}

/** Deep merge: objects merge key by key, everything else (arrays included) is replaced by `over`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: PlainObject = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  return out;
}

/** Every leaf of a nested object as [dotted path segments, value]; an empty object counts as a leaf. */
export function leaves(obj: unknown, prefix: string[] = []): Array<[string[], unknown]> {
  if (!isPlainObject(obj) || (Object.keys(obj).length === 0 && prefix.length > 0)) return [[prefix, obj]];
  return Object.entries(obj).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

/** Expands dotted keys inside an object ({"a.b": 1} → {a: {b: 1}}), so both spellings work in `base`. */
export function expandDottedKeys(obj: unknown): unknown {
  if (!isPlainObject(obj)) return obj;
  let out: PlainObject = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = splitKey(k);
    const existing = getPath(out, path);
    out = setPath(out, path, deepMerge(existing, expandDottedKeys(v)));
  }
  return out;
}
