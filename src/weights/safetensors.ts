import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { BadInputError } from '../errors.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { DTYPE_SIZES, type SafetensorsDtype } from './safetensors-dtype.js';
import { decodeTensorBytes } from './safetensors-decode.js';
import { headerLength, invalid, parseHeader } from './safetensors-header.js';
import { openSafetensors } from './safetensors-file.js';
import type { TensorData, WeightView } from './weight-view.js';

// safetensors (huggingface/safetensors): 8-byte little-endian header size, a JSON header of
// {name: {dtype, shape, data_offsets}}, then the raw little-endian data. Weights saved this way open in PyTorch
// (`safetensors.torch.load_file`) as they do here; the format is small enough that a dependency buys nothing.
// Reading goes through openSafetensors (positioned reads, any file size); this module is the whole-file API.

export type NamedTensors = Record<string, tf.Tensor>;

/** a tensor to write as raw bytes, in any dtype of the format (test fixtures, fp16 exports) */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * The header of a file holding tensors of these dtypes, shapes and byte lengths, in name order, padded so the data
 * starts 8-byte aligned; with it the offsets, so a writer can place (or leave sparse) each tensor's data.
 */
export function encodeSafetensorsHeader(
  tensors: Record<string, Omit<RawTensor, 'bytes'> & { byteLength: number }>,
  metadata: Record<string, string> = {},
): { header: Uint8Array; offsets: Map<string, number>; dataBytes: number } {
  const head: Record<string, unknown> = { __metadata__: metadata };
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    head[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.byteLength] };
    offsets.set(name, offset);
    offset += t.byteLength;
  }
  let json = JSON.stringify(head);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // align the data to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const header = new Uint8Array(8 + headerBytes.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  header.set(headerBytes, 8);
  return { header, offsets, dataBytes: offset };
}

/** a whole file from raw tensors; each tensor's byte length must be its shape × its dtype's size */
export function encodeRawSafetensors(tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): Uint8Array {
  for (const [name, t] of Object.entries(tensors)) {
    const want = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype];
    if (want !== t.bytes.length) throw new Error(`safetensors: ${name} has ${t.bytes.length} bytes, its shape and dtype need ${want}`);
  }
  const specs = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, byteLength: t.bytes.length }]));
  const { header, offsets, dataBytes } = encodeSafetensorsHeader(specs, metadata);
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header, 0);
  for (const [name, at] of offsets) out.set(tensors[name]!.bytes, header.length + at);
  return out;
}

export function encodeSafetensors(tensors: NamedTensors, metadata: Record<string, string> = {}): Uint8Array {
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`safetensors: ${name} has dtype ${t.dtype}`);
    const data = t.dataSync();
    raw[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: [...t.shape], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  }
  return encodeRawSafetensors(raw, metadata);
}

/** a whole file held in memory, validated as a file on disk is */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): { tensors: NamedTensors; metadata: Record<string, string> } {
  if (bytes.length < 8) throw invalid(source, `${bytes.length} bytes, too short for the 8-byte header length`);
  const n = headerLength(bytes.subarray(0, 8), bytes.length, source);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length, source);
  const data = [...header.entries.values()].map((e) => decodeTensorBytes(e, bytes.subarray(e.begin, e.end), source));
  return { tensors: toTensors(data), metadata: header.metadata };
}

/**
 * The metadata key of a checksum of the tensors' values: the format has none, and a flipped bit in a checkpoint's
 * data would otherwise resume training from wrong weights without a word.
 */
export const CHECKSUM_KEY = 'vsdlab.sha256';

/** sha256 over every tensor's values (little-endian bytes), in name order */
function valuesChecksum(values: ReadonlyArray<readonly [string, ArrayBufferView]>): string {
  const hash = createHash('sha256');
  for (const [name, v] of [...values].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    hash.update(name);
    hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return hash.digest('hex');
}

/** writes atomically, with a checksum of the values in the metadata (CHECKSUM_KEY) */
export const saveSafetensors = (path: string, tensors: NamedTensors, metadata: Record<string, string> = {}): Promise<void> => {
  const sum = valuesChecksum(Object.entries(tensors).map(([name, t]) => [name, t.dataSync()] as const));
  return writeFileAtomically(path, encodeSafetensors(tensors, { ...metadata, [CHECKSUM_KEY]: sum }));
};

/**
 * every tensor of a file, read tensor by tensor (files above 2 GiB included); nothing is kept on an error. A file
 * written by saveSafetensors is checked against its checksum: a damaged one is a WEIGHTS_CHECKSUM error.
 */
export function loadSafetensors(path: string): { tensors: NamedTensors; metadata: Record<string, string> } {
  const view = openSafetensors(path);
  try {
    const data = readAll(view);
    const want = view.metadata[CHECKSUM_KEY];
    if (want !== undefined && valuesChecksum(data.map((d) => [d.name, d.values] as const)) !== want) {
      throw new BadInputError('WEIGHTS_CHECKSUM', `${path}: the tensors do not match the file's checksum (${CHECKSUM_KEY}); the file is damaged`, 'delete it (a checkpoint is then recomputed) or restore it from a copy');
    }
    return { tensors: toTensors(data), metadata: { ...view.metadata } };
  } finally {
    view.close();
  }
}

/** every tensor of a view, as raw values: all are read before any tfjs tensor exists, so an error leaks none */
export const readAll = (view: WeightView): TensorData[] => view.names().map((name) => view.read(name));

export const toTensor = (d: TensorData): tf.Tensor => tf.tensor(d.values, d.shape, d.dtype);

function toTensors(data: TensorData[]): NamedTensors {
  return Object.fromEntries(data.map((d) => [d.name, toTensor(d)]));
}
