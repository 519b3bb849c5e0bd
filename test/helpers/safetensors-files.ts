// Small safetensors files written inside the tests: raw tensors in any dtype, and headers written by hand (corrupt
// ones included), so every read path is checked against bytes whose meaning is spelled out in the test.
import { writeFileSync } from 'node:fs';
import { encodeRawSafetensors, type RawTensor } from '../../src/weights/safetensors.js';
import type { SafetensorsDtype } from '../../src/weights/safetensors-dtype.js';

/** raw bytes of typed values (the array's own layout is little-endian on every machine the tests run on) */
export const bytesOf = (a: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

export const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: bytesOf(new Float32Array(values)) });
/** F16 or BF16 from bit patterns */
export const bits16 = (dtype: 'F16' | 'BF16', shape: number[], bits: number[]): RawTensor => ({ dtype, shape, bytes: bytesOf(new Uint16Array(bits)) });
export const i64 = (shape: number[], values: bigint[]): RawTensor => ({ dtype: 'I64', shape, bytes: bytesOf(new BigInt64Array(values)) });
export const raw = (dtype: SafetensorsDtype, shape: number[], bytes: Uint8Array): RawTensor => ({ dtype, shape, bytes });

export function writeRaw(path: string, tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): string {
  writeFileSync(path, encodeRawSafetensors(tensors, metadata));
  return path;
}

/** a file from a hand-written header (any JSON, or a string taken as the header text) and `data` bytes after it */
export function writeWithHeader(path: string, header: unknown, data: number | Uint8Array = 0, declaredLength?: bigint): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  writeFileSync(path, out);
  return path;
}
