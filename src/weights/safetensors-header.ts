/**
 * The safetensors header, validated as the reference implementation (huggingface/safetensors, `Metadata::validate`)
 * does: an 8-byte little-endian length (at most 100 MB, within the file), a JSON object of
 * {name: {dtype, shape, data_offsets}} plus an optional `__metadata__` of strings; every dtype known, every byte span
 * equal to shape × itemsize, and the spans, in offset order, tiling the data section exactly (no gap, no overlap,
 * nothing after). A file the reference refuses is refused here, each time naming the file and the tensor.
 */
import { BadInputError } from '../errors.js';
import { DTYPE_SIZES, isDtype, type SafetensorsDtype } from './safetensors-dtype.js';

/** one tensor of a header; `begin`/`end` are absolute positions in the file */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** where the data section starts: 8 + the header length */
  dataStart: number;
}

// the reference's MAX_HEADER_SIZE: a larger length is a corrupt or hostile file, not a big model
export const MAX_HEADER_BYTES = 100_000_000;

export const invalid = (source: string, why: string): BadInputError =>
  new BadInputError('WEIGHTS_INVALID', `${source}: not a valid safetensors file (${why})`, 'the file is damaged or not safetensors: download or export it again');

/** the header length from the first 8 bytes, checked against the file size */
export function headerLength(first8: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8 || first8.length < 8) throw invalid(source, `${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw invalid(source, `header length ${n} exceeds ${MAX_HEADER_BYTES} bytes`);
  if (n < 2n) throw invalid(source, `header length ${n} is too short for a JSON object`);
  if (8 + Number(n) > fileSize) throw invalid(source, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** parses and validates the JSON header (`json`, the header bytes) of a file of `fileSize` bytes */
export function parseHeader(json: Uint8Array, fileSize: number, source: string): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw invalid(source, `header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(source, 'header is not a JSON object');
  const dataStart = 8 + json.length;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(source, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw invalid(source, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, value, dataStart, source));
  }
  // the spans, in offset order, must tile [0, dataSize): this also rules out overlaps and data past the last one
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const e of ordered) {
    if (e.begin !== at) {
      const why = e.begin < at ? 'overlaps the tensor before it' : `leaves a gap of ${e.begin - at} bytes before it`;
      throw invalid(source, `tensor ${e.name}: data_offsets [${e.begin - dataStart}, ${e.end - dataStart}] ${why}`);
    }
    at = e.end;
  }
  if (at - dataStart !== dataSize) {
    const last = ordered.at(-1);
    const why = at - dataStart > dataSize ? 'runs past the end of the file' : `is followed by ${dataSize - (at - dataStart)} bytes no tensor owns`;
    throw invalid(source, last === undefined ? `no tensors, yet ${dataSize} data bytes` : `tensor ${last.name}: data_offsets end ${last.end - dataStart} ${why} (data section: ${dataSize} bytes)`);
  }
  return { entries: new Map(entries.map((e) => [e.name, e])), metadata, dataStart };
}

function parseEntry(name: string, value: unknown, dataStart: number, source: string): TensorEntry {
  const bad = (why: string): BadInputError => invalid(source, `tensor ${name}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) throw bad(`unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZES).join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) throw bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
  const elements = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = elements * DTYPE_SIZES[dtype];
  if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
    throw bad(`shape [${shape.join(', ')}] of ${dtype} is ${bytes} bytes, data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}
