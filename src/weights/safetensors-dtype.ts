/**
 * safetensors element types: the size of every dtype the format defines (so any valid header can be checked), and
 * the exact conversion of the readable ones into what tfjs holds: F32, F16 and BF16 as float32 (both half formats
 * are subsets of float32, so the conversion loses nothing), I32 as int32, I64 as int32 when every value fits.
 */

/** every dtype of the safetensors specification, with its size in bytes */
export const DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** the dtypes this reader converts; the others are valid in a header but refused when read */
export const READABLE_DTYPES = ['F32', 'F16', 'BF16', 'I32', 'I64'] as const;
export type ReadableDtype = (typeof READABLE_DTYPES)[number];

export const isDtype = (s: unknown): s is SafetensorsDtype => typeof s === 'string' && Object.hasOwn(DTYPE_SIZES, s);
export const isReadable = (d: SafetensorsDtype): d is ReadableDtype => (READABLE_DTYPES as readonly string[]).includes(d);

/** the IEEE 754 binary16 value of a bit pattern, subnormals, infinities and NaN included */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals: 0.m × 2^-14
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

// all 65536 halves, built on first use: a lookup is faster than the arithmetic on a billion-element checkpoint
let halfTable: Float32Array | undefined;
function halves(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** little-endian F16 bytes (offset 0 of their own buffer) as float32 */
export function f16ToFloat32(bytes: Uint8Array): Float32Array {
  const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const table = halves();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return out;
}

/** little-endian BF16 bytes as float32: bfloat16 is the high half of a float32, so the bits shift into place */
export function bf16ToFloat32(bytes: Uint8Array): Float32Array {
  const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return new Float32Array(out.buffer);
}

/** little-endian I64 bytes as int32, or the index of the first value outside the int32 range */
export function i64ToInt32(bytes: Uint8Array): Int32Array | { outOfRange: number; value: bigint } {
  const src = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (v < -2147483648n || v > 2147483647n) return { outOfRange: i, value: v };
    out[i] = Number(v);
  }
  return out;
}

/** float32 as F16 bits, rounded to nearest even (for writing test fixtures and fp16 exports) */
export function floatToHalf(f: number): number {
  const f32 = new Float32Array([f]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf, or a quiet NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: signed zero
    mant |= 0x800000; // the implicit leading one, then shift into the subnormal range
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rest > mid || (rest === mid && half & 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // a carry out of the mantissa correctly bumps the exponent (up to infinity)
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** float32 as BF16 bits, rounded to nearest even (NaN stays NaN) */
export function floatToBf16(f: number): number {
  const x = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
