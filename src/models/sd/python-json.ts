/**
 * JSON as Python's `json.dumps(value, indent=2, sort_keys=True)` writes it, which is how diffusers (`to_json_string`)
 * and PEFT (`PeftConfigMixin.save_pretrained`) write their configs: keys sorted at every level, two-space indent,
 * and floats in Python's repr (`0.0`, `1e-05`). JavaScript has one number type, so the caller names the keys whose
 * values Python holds as floats.
 */

const FLOAT_MARK = '\u0000float:';

/** Python's repr of a float: `1.0`, `0.5`, `1e-05`, `1.5e+16` (exponent form below 1e-4 and from 1e16) */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`python-json: ${x} has no JSON form`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e >= -4 && e < 16) {
    const fixed = x.toString(); // JavaScript writes fixed notation for 1e-7 ≤ |x| < 1e21, with the same shortest digits
    return fixed.includes('.') ? fixed : `${fixed}.0`;
  }
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
};

/** `value` as Python writes it; a number under a key in `floatKeys` (at any depth) is written as a float */
export function pythonJson(value: unknown, floatKeys: ReadonlySet<string> = new Set()): string {
  const marked = JSON.stringify(sortKeys(value), (key, v: unknown) => (typeof v === 'number' && floatKeys.has(key) ? `${FLOAT_MARK}${pythonFloat(v)}` : v), 2);
  // ensure_ascii: Python escapes every non-ASCII character
  const ascii = marked.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return ascii.replace(/"\\u0000float:([^"]*)"/g, '$1');
}
