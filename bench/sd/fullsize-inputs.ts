// The full-size check's inputs, bit for bit as tools/sd/make_fullsize_unet.py makes them (xorshift_inputs), so its
// golden carries only seeds and sha256s instead of 80k input values: xorshift32 (13, 17, 5) from the seed,
// value = float32(((x >>> 8) / 2^24 − 0.5) · √12) (uniform, mean 0, variance 1), row-major.
import { createHash } from 'node:crypto';

const SQRT12 = 3.4641016151377544; // the same float64 literal as the Python script

export function xorshiftInputs(count: number, seed: number): Float32Array {
  let x = seed >>> 0;
  if (x === 0) throw new Error('xorshift32 needs a non-zero seed');
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = ((x >>> 8) / 16777216 - 0.5) * SQRT12;
  }
  return out;
}

/** sha256 of the values as float32 little-endian bytes (the golden records it for each input) */
export const sha256F32 = (values: Float32Array): string => {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return createHash('sha256').update(bytes).digest('hex');
};
