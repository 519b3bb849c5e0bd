import { splitKey } from '../config/dotted.js';

type SlugPart = (value: unknown) => string;

// readable names for the keys an ablation usually varies; anything else falls back to `<last segment><value>`
const PARTS: Record<string, SlugPart> = {
  'distill.lora_teacher.enabled': (v) => (v ? 'vsd' : 'sds'),
  'distill.enabled': (v) => (v ? 'student' : 'teacher'),
  'distill.student.parameterization': (v) => String(v),
  'distill.lora_teacher.guidance_scale': (v) => `lora-cfg${String(v)}`,
  'distill.lora_teacher.loss_weighting': (v) => `lora-loss-${String(v)}`,
  'distill.lora_teacher.updates_per_step': (v) => `lora-x${String(v)}`,
  'generate.sampler': (v) => String(v),
  'generate.steps': (v) => `${String(v)}step`,
  seed: (v) => `s${String(v)}`,
};

export function slugPart(key: string, value: unknown): string {
  const named = PARTS[key];
  if (named) return clean(named(value));
  const last = splitKey(key).at(-1) ?? key;
  if (typeof value === 'boolean') return clean(value ? last : `no-${last}`);
  if (typeof value === 'number' || typeof value === 'string') return clean(`${last}${String(value)}`);
  return clean(`${last}${JSON.stringify(value)}`);
}

/** `vsd-eps-s0` from the keys that vary; `cell` when nothing varies. */
export function slugOf(values: Record<string, unknown>, keys: readonly string[]): string {
  const parts = keys.filter((k) => k in values).map((k) => slugPart(k, values[k]));
  return parts.length > 0 ? parts.join('-') : 'cell';
}

const clean = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9.+]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'x';
