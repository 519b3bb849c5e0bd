import { readFileSync } from 'node:fs';
import { fromRoot } from '../../helpers/paths.js';

// loads test/golden/metrics-image/*.json (written by make_goldens.py); arrays are base64 little-endian bytes

export const goldenPath = (...parts: string[]): string => fromRoot('test', 'golden', 'metrics-image', ...parts);

export function readGolden<T>(name: string): T {
  return JSON.parse(readFileSync(goldenPath(name), 'utf8')) as T;
}

export function bytes(b64: string): Uint8Array {
  const buf = Buffer.from(b64, 'base64');
  return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function floats(b64: string): Float32Array {
  const u8 = bytes(b64);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const out = new Float32Array(u8.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

export interface GoldenInput {
  width: number;
  height: number;
  channels: number;
  dtype: 'uint8' | 'float32';
  data: string;
}

/** largest |a[i] − b[i]| (Infinity on a length mismatch or a NaN) */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** HWC interleaved → CHW planes, as float32 (divided in float32 like torch's ToTensor when divisor ≠ 1) */
export function hwcToChw(data: ArrayLike<number>, width: number, height: number, channels: number, divisor = 1): Float32Array {
  const out = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) out[(c * height + y) * width + x] = Math.fround(data[(y * width + x) * channels + c]! / divisor);
    }
  }
  return out;
}

/** largest distance in float32 units in the last place (Infinity on a length mismatch or a NaN) */
export function maxUlpDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  const f = new Float32Array(1);
  const i = new Int32Array(f.buffer);
  // map float bits to a monotone integer line so neighbours differ by 1
  const ordered = (v: number): number => {
    f[0] = v;
    const bits = i[0]!;
    return bits < 0 ? -2147483648 - bits : bits;
  };
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    if (Number.isNaN(a[k]) || Number.isNaN(b[k])) return Infinity;
    m = Math.max(m, Math.abs(ordered(a[k]!) - ordered(b[k]!)));
  }
  return m;
}
