// numpy .npy encoding and decoding (format versions 1.0-3.0) for little-endian float/int arrays.
import { BadInputError } from '../../errors.js';

export type NpyDtype = '<f8' | '<f4' | '<i8' | '<i4';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** C order; <i8 is returned as Float64Array (exact below 2**53) */
  data: Float64Array | Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function bad(name: string, why: string): BadInputError {
  return new BadInputError('NPY_BAD_FORMAT', `${name}: ${why}`);
}

export function decodeNpy(bytes: Uint8Array, name = '.npy data'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad(name, 'not a .npy array (bad magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw bad(name, `unsupported .npy version ${major}`);
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(name, `unreadable header ${JSON.stringify(header.trim())}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((s) => !Number.isInteger(s) || s < 0)) throw bad(name, `bad shape (${shapeText})`);
  const dtype = (descr === '|f8' ? '<f8' : descr === '|f4' ? '<f4' : descr) as NpyDtype;
  if (!['<f8', '<f4', '<i8', '<i4'].includes(dtype)) throw bad(name, `unsupported dtype ${descr} (need little-endian float32/float64/int32/int64)`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = dtype === '<f4' || dtype === '<i4' ? 4 : 8;
  const dataStart = start + headerLen;
  if (bytes.length - dataStart < count * itemSize) throw bad(name, `truncated: ${count} values of ${itemSize} bytes need ${count * itemSize} bytes, found ${bytes.length - dataStart}`);
  // copy (not Buffer#slice, which is a view): the payload inside a zip is not aligned for a typed-array view
  const raw = new Uint8Array(count * itemSize);
  raw.set(bytes.subarray(dataStart, dataStart + count * itemSize));
  let data: Float64Array | Float32Array | Int32Array;
  if (dtype === '<f8') data = new Float64Array(raw.buffer, 0, count);
  else if (dtype === '<f4') data = new Float32Array(raw.buffer, 0, count);
  else if (dtype === '<i4') data = new Int32Array(raw.buffer, 0, count);
  else {
    const big = new BigInt64Array(raw.buffer, 0, count);
    data = new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = Number(big[i]!);
  }
  if (fortran === 'True' && shape.length > 1) data = fortranToC(data, shape);
  return { dtype, shape, data };
}

function fortranToC<T extends Float64Array | Float32Array | Int32Array>(data: T, shape: number[]): T {
  const out = data.slice() as T;
  const nd = shape.length;
  const count = data.length;
  const idx = new Array<number>(nd).fill(0);
  for (let f = 0; f < count; f++) {
    // f walks fortran order (first index fastest); c is the same element's C-order offset
    let c = 0;
    for (let k = 0; k < nd; k++) c = c * shape[k]! + idx[k]!;
    out[c] = data[f]!;
    for (let k = 0; k < nd; k++) {
      idx[k] = idx[k]! + 1;
      if (idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** a version-1.0 .npy file, header padded with spaces to a multiple of 64 bytes and ended by '\n', as numpy writes. */
export function encodeNpy(data: Float64Array | Float32Array | Int32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new BadInputError('NPY_BAD_SHAPE', `shape (${shape.join(', ')}) holds ${count} values, array has ${data.length}`);
  const descr = data instanceof Float64Array ? '<f8' : data instanceof Float32Array ? '<f4' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + headerBytes.length);
  return out;
}
