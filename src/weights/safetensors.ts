import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { writeFileAtomically } from '../util/atomic-write.js';
import { BadInputError } from '../errors.js';

// safetensors (huggingface/safetensors): 8-byte little-endian header size, a JSON header of
// {name: {dtype, shape, data_offsets}}, then the raw little-endian data. Weights saved this way open in PyTorch
// (`safetensors.torch.load_file`) as they do here; the format is small enough that a dependency buys nothing.

export type NamedTensors = Record<string, tf.Tensor>;

interface HeaderEntry {
  dtype: 'F32' | 'I32';
  shape: number[];
  data_offsets: [number, number];
}

export function encodeSafetensors(tensors: NamedTensors, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as tf.Tensor;
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`safetensors: ${name} has dtype ${t.dtype}`);
    const data = t.dataSync();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): { tensors: NamedTensors; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new BadInputError('WEIGHTS_INVALID', `${source}: not a readable safetensors file (${why})`);
  };
  if (bytes.length < 8) fail('too short');
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + size > bytes.length) fail('header runs past the end');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size))) as Record<string, unknown>;
  } catch {
    return fail('header is not JSON');
  }
  const base = 8 + size;
  const tensors: NamedTensors = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = value as HeaderEntry;
    const [begin, end] = e.data_offsets;
    if (base + end > bytes.length) fail(`${name} runs past the end`);
    const slice = new Uint8Array(bytes.subarray(base + begin, base + end)); // a copy: a Buffer view may share a pool
    if (e.dtype === 'F32') tensors[name] = tf.tensor(new Float32Array(slice.buffer), e.shape, 'float32');
    else if (e.dtype === 'I32') tensors[name] = tf.tensor(new Int32Array(slice.buffer), e.shape, 'int32');
    else fail(`${name} has unsupported dtype ${String(e.dtype)}`);
  }
  return { tensors, metadata: (header.__metadata__ as Record<string, string> | undefined) ?? {} };
}

export const saveSafetensors = (path: string, tensors: NamedTensors, metadata: Record<string, string> = {}): Promise<void> =>
  writeFileAtomically(path, encodeSafetensors(tensors, metadata));

export function loadSafetensors(path: string): { tensors: NamedTensors; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new BadInputError('WEIGHTS_UNREADABLE', `${path}: cannot read weights (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeSafetensors(bytes, path);
}
