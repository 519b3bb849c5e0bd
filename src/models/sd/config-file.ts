/**
 * A component's JSON config (diffusers' config.json, transformers' config.json) read as the reference libraries
 * read it, plus what the engine refuses: keys starting with `_` are metadata; keys the schema knows are validated
 * and defaulted as the library defaults them; a key the engine does not implement must hold its library default
 * (else an error `file  key  value is not supported (supported: ...)`); any other key is ignored, as diffusers
 * ignores it, and reported as a warning.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { BadInputError, MissingAssetError } from '../../errors.js';
import { toDotPath } from '../../util/issues.js';
import { schemaIssues } from '../../util/zod-issues.js';

export type JsonObject = Record<string, unknown>;

const UNSUPPORTED_HINT = 'the engine runs Stable Diffusion 1.x/2.x pipelines (UNet2DConditionModel, AutoencoderKL, CLIPTextModel) and lacks what this config asks for';

/** the config at `path` as a JSON object; `what` says what it configures, for the messages */
export function readJsonObject(path: string, what: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MissingAssetError('SD_CONFIG_MISSING', `${path}: no ${what}`, 'a diffusers pipeline folder as save_pretrained writes it has one: save or download the pipeline again');
    throw new BadInputError('SD_CONFIG_UNREADABLE', `${path}: cannot read the ${what} (${code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BadInputError('SD_CONFIG_INVALID', `${path}: the ${what} is not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadInputError('SD_CONFIG_INVALID', `${path}: the ${what} is not a JSON object`);
  return raw as JsonObject;
}

/** a refusal: the key (a path into the config) and what the engine implements instead */
export interface Refusal {
  path: PropertyKey[];
  value: unknown;
  implemented: string;
}

/** one key the engine does not implement: given its value (undefined when absent), the refusals */
export type Gate = (value: unknown) => Refusal[];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const show = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

/** the key, when present, must be one of `allowed` (its library default first) */
export const oneOf =
  (key: string, ...allowed: unknown[]): Gate =>
  (value) =>
    value === undefined || allowed.some((a) => same(a, value)) ? [] : [{ path: [key], value, implemented: allowed.map(show).join(', ') }];

/** a value or a per-block list: the value, and each element of the list, must be one of `allowed` */
export const eachOneOf =
  (key: string, ...allowed: unknown[]): Gate =>
  (value) => {
    if (value === undefined) return [];
    const list = Array.isArray(value) ? value : [value];
    const at = (i: number): PropertyKey[] => (Array.isArray(value) ? [key, i] : [key]);
    return list.flatMap((v, i) => (allowed.some((a) => same(a, v)) ? [] : [{ path: at(i), value: v, implemented: allowed.map(show).join(', ') }]));
  };

export interface ConfigSpec<S extends z.ZodType> {
  /** what the file configures, for messages: "UNet config" */
  what: string;
  /** the fields the engine implements, with the library's defaults */
  schema: S;
  /** keys the engine does not implement, each allowed only at its default */
  gates: Record<string, Gate>;
  /** keys known to the library that change nothing here (dropout at inference, transformers bookkeeping): no warning */
  ignored?: readonly string[];
  /** checks across fields (list lengths) once the schema has passed: a message per problem, keyed by the path */
  check?: (config: z.infer<S>) => Array<{ path: PropertyKey[]; message: string }>;
}

export interface ParsedConfig<T> {
  config: T;
  /** keys ignored as the library ignores them, one line each */
  warnings: string[];
}

/** validates `raw` (read from `path`) by `spec`; the first problem is thrown as one line naming the file and key */
export function parseConfig<S extends z.ZodType>(path: string, raw: JsonObject, spec: ConfigSpec<S>): ParsedConfig<z.infer<S>> {
  for (const [key, gate] of Object.entries(spec.gates)) {
    const [refusal] = gate(raw[key]);
    if (refusal !== undefined) {
      throw new BadInputError('SD_CONFIG_UNSUPPORTED', `${path}  ${toDotPath(refusal.path)}  ${show(refusal.value)} is not supported (supported: ${refusal.implemented})`, UNSUPPORTED_HINT);
    }
  }
  const parsed = spec.schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const [issue] = schemaIssues(parsed.error);
    throw new BadInputError('SD_CONFIG_INVALID', `${path}  ${toDotPath(issue!.path)}  ${issue!.message}`, `fix the ${spec.what}: it is not one the library would load`);
  }
  const config = parsed.data as z.infer<S>;
  const [problem] = spec.check?.(config) ?? [];
  if (problem !== undefined) throw new BadInputError('SD_CONFIG_INVALID', `${path}  ${toDotPath(problem.path)}  ${problem.message}`, `fix the ${spec.what}: it is not one the library would load`);
  const known = new Set([...schemaKeys(spec.schema), ...Object.keys(spec.gates), ...(spec.ignored ?? [])]);
  const warnings = Object.keys(raw)
    .filter((k) => !k.startsWith('_') && !known.has(k))
    .sort()
    .map((k) => `${path}  ${k}  unknown key, ignored`);
  return { config, warnings };
}

function schemaKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape === undefined ? [] : Object.keys(shape);
}
