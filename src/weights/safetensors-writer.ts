/**
 * Writes a safetensors file one tensor at a time: a full-size UNet (3.4 GB in F32) never sits in memory whole, and
 * each tensor's bytes are produced only when its turn comes. The header is the one encodeSafetensorsHeader builds
 * (tensors in name order, which for a single-dtype file is the reference library's own order: it sorts by
 * alignment, then name), padded with spaces so the data starts 8-byte aligned. The file appears under its name only
 * when complete (write to a temporary sibling, fsync, rename).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DTYPE_SIZES, type SafetensorsDtype } from './safetensors-dtype.js';
import { encodeSafetensorsHeader } from './safetensors.js';

/** a tensor to write: its bytes are asked for once, when the writer reaches it */
export interface StreamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: () => Uint8Array;
}

/** writes `tensors` to `path` atomically; a tensor whose bytes do not match its shape and dtype is an error (nothing is left behind) */
export function writeSafetensorsFile(path: string, tensors: Record<string, StreamedTensor>, metadata: Record<string, string> = {}): void {
  const specs = Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => [name, { dtype: t.dtype, shape: t.shape, byteLength: t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype] }]),
  );
  const { header, offsets } = encodeSafetensorsHeader(specs, metadata);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, header);
    // offsets iterate in name order, which is data order
    for (const name of offsets.keys()) {
      const bytes = tensors[name]!.bytes();
      const want = specs[name]!.byteLength;
      if (bytes.length !== want) throw new Error(`safetensors: ${name} has ${bytes.length} bytes, its shape [${tensors[name]!.shape.join(', ')}] of ${tensors[name]!.dtype} needs ${want}`);
      writeAll(fd, bytes);
    }
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, path);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}
