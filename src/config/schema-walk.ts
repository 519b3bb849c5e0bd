import type { z } from 'zod';
import { isPlainObject } from './dotted.js';

export interface FieldMeta {
  asset?: boolean;
  identity?: boolean;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Metadata declared with `.meta()` on a schema or on any wrapper (default, optional, prefault) around it. */
function metaOf(schema: z.ZodType): { meta: FieldMeta; inner: z.ZodType } {
  let meta: FieldMeta = {};
  let cur = schema;
  for (;;) {
    meta = { ...((cur.meta() as FieldMeta | undefined) ?? {}), ...meta };
    const def = defOf(cur);
    if (!def.innerType || !['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type)) return { meta, inner: cur };
    cur = def.innerType;
  }
}

/**
 * Walks a parsed value alongside its schema and calls `visit` for every field that carries metadata.
 * Returning false from `visit` skips the field's children.
 */
export function walkWithSchema(schema: z.ZodType, value: unknown, visit: (path: PropertyKey[], value: unknown, meta: FieldMeta) => void, path: PropertyKey[] = []): void {
  const { meta, inner } = metaOf(schema);
  if (Object.keys(meta).length > 0) visit(path, value, meta);
  const def = defOf(inner);
  if (def.type === 'object' && def.shape && isPlainObject(value)) {
    for (const [key, child] of Object.entries(def.shape)) if (key in value) walkWithSchema(child, value[key], visit, [...path, key]);
  } else if (def.type === 'array' && def.element && Array.isArray(value)) {
    value.forEach((item, i) => walkWithSchema(def.element as z.ZodType, item, visit, [...path, i]));
  } else if (def.type === 'union' && def.options) {
    const option = def.options.find((o) => o.safeParse(value).success);
    if (option) walkWithSchema(option, value, visit, path);
  }
}
