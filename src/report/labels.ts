import { splitKey } from '../config/dotted.js';

type Namer = (value: unknown) => string;

// the names a paper would print for the keys an ablation usually varies; others read `<last segment>=<value>`
const PARAMETERIZATION: Record<string, string> = { eps: 'ε-param.', x0: 'x₀-param.', v: 'v-param.' };
const SAMPLERS: Record<string, string> = { 'one-step': 'one-step', ddim: 'DDIM', ddpm: 'DDPM', 'dpm-solver++': 'DPM-Solver++' };

const LORA_LOSS_NAMES: Record<string, string> = { 'alpha-bar': 'ᾱ-weighted ε-MSE', eps: 'ε-MSE', v: 'v-MSE' };

const NAMERS: Record<string, Namer> = {
  'distill.lora_teacher.enabled': (v) => (v ? 'VSD (LoRA teacher)' : 'SDS (no LoRA teacher)'),
  'distill.enabled': (v) => (v ? 'student' : 'teacher'),
  'distill.student.parameterization': (v) => PARAMETERIZATION[String(v)] ?? `${String(v)}-param.`,
  'distill.guidance_scale': (v) => `CFG ${String(v)}`,
  'distill.lora_teacher.guidance_scale': (v) => `LoRA teacher CFG ${String(v)}`,
  'distill.lora_teacher.loss_weighting': (v) => `LoRA loss ${LORA_LOSS_NAMES[String(v)] ?? String(v)}`,
  'distill.lora_teacher.updates_per_step': (v) => `${String(v)} LoRA update${v === 1 ? '' : 's'} per step`,
  'generate.sampler': (v) => SAMPLERS[String(v)] ?? String(v),
  'generate.steps': (v) => (v === 1 ? '1 step' : `${String(v)} steps`),
  'distill.steps': (v) => `${String(v)} iters`,
  'distill.lora_teacher.alpha': (v) => `LoRA α ${String(v)}`,
  'distill.lora_teacher.rank': (v) => `LoRA r ${String(v)}`,
  seed: (v) => `seed ${String(v)}`,
};

export function valueLabel(key: string, value: unknown): string {
  const named = NAMERS[key];
  if (named) return named(value);
  const last = splitKey(key).at(-1) ?? key;
  if (typeof value === 'boolean') return value ? last : `no ${last}`;
  return `${last}=${typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value)}`;
}

/** "VSD (LoRA teacher), ε-param." from a row's varying values, in the plan's key order */
export function rowLabel(varying: Record<string, unknown>, keys: readonly string[]): string {
  const parts = keys.filter((k) => k in varying).map((k) => valueLabel(k, varying[k]));
  return parts.length > 0 ? parts.join(', ') : 'all runs';
}
