// the subset of the zip format numpy's savez / savez_compressed produce and read: stored or deflated members,
// zip64 extra fields, no encryption, no multi-disk.
import * as zlib from 'node:zlib';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { BadInputError } from '../../errors.js';

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

// zlib's own CRC-32 (Node ≥ 20.15, 22.2): ≈ 20× the table loop, which checking two 2048-d statistics files
// (67 MB) made a tenth of `vsdlab fid`'s run
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export function crc32(bytes: Uint8Array): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(bytes) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function bad(name: string, why: string): BadInputError {
  return new BadInputError('ZIP_BAD_FORMAT', `${name}: ${why}`);
}

// zip64 extended information: the 64-bit values replace, in order, the 32-bit fields that are 0xffffffff
function zip64Values(extra: Uint8Array, wanted: boolean[]): (number | undefined)[] {
  const v = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = v.getUint16(p, true);
    const size = v.getUint16(p + 2, true);
    if (id === 0x0001) {
      const out: (number | undefined)[] = [];
      let q = p + 4;
      for (const w of wanted) {
        if (w && q + 8 <= p + 4 + size) {
          out.push(Number(v.getBigUint64(q, true)));
          q += 8;
        } else out.push(undefined);
      }
      return out;
    }
    p += 4 + size;
  }
  return wanted.map(() => undefined);
}

/** every member of a zip archive, read through the central directory. */
export function readZip(bytes: Uint8Array, name = 'zip archive'): ZipEntry[] {
  // a damaged archive's offsets point anywhere: an out-of-range read or a bad deflate stream is bad input, not a bug
  try {
    return readZipUnchecked(bytes, name);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw bad(name, `damaged archive (${(e as Error).message})`);
  }
}

function readZipUnchecked(bytes: Uint8Array, name: string): ZipEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (v.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw bad(name, 'not a zip archive (no end of central directory)');
  let entries = v.getUint16(eocd + 10, true);
  let cdOffset = v.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || entries === 0xffff) {
    const locator = eocd - 20;
    if (locator < 0 || v.getUint32(locator, true) !== 0x07064b50) throw bad(name, 'zip64 archive without a zip64 locator');
    const z64 = Number(v.getBigUint64(locator + 8, true));
    if (v.getUint32(z64, true) !== 0x06064b50) throw bad(name, 'bad zip64 end of central directory');
    entries = Number(v.getBigUint64(z64 + 32, true));
    cdOffset = Number(v.getBigUint64(z64 + 48, true));
  }
  const out: ZipEntry[] = [];
  let p = cdOffset;
  for (let e = 0; e < entries; e++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== 0x02014b50) throw bad(name, `bad central directory entry ${e}`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let local = v.getUint32(p + 42, true);
    const entryName = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const extra = bytes.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    const [z64Size, z64Comp, z64Local] = zip64Values(extra, [size === 0xffffffff, compSize === 0xffffffff, local === 0xffffffff]);
    size = z64Size ?? size;
    compSize = z64Comp ?? compSize;
    local = z64Local ?? local;
    if (flags & 1) throw bad(name, `member ${entryName} is encrypted`);
    if (v.getUint32(local, true) !== 0x04034b50) throw bad(name, `bad local header for ${entryName}`);
    const dataStart = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const raw = bytes.subarray(dataStart, dataStart + compSize);
    if (raw.length !== compSize) throw bad(name, `member ${entryName} is truncated`);
    let data: Uint8Array;
    if (method === 0) data = new Uint8Array(raw); // a copy, not a view of the caller's buffer
    // the declared size bounds the inflated one: a deflate bomb stops there instead of filling memory
    else if (method === 8) data = new Uint8Array(inflateRawSync(raw, { maxOutputLength: Math.max(1, size) }));
    else throw bad(name, `member ${entryName} uses compression method ${method} (only stored and deflate are supported)`);
    if (data.length !== size) throw bad(name, `member ${entryName} inflates to ${data.length} bytes, expected ${size}`);
    if (crc32(data) !== crc) throw bad(name, `member ${entryName} fails its CRC-32 check`);
    out.push({ name: entryName, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** a plain (non-zip64) archive; members stored or deflated. limited to 4 GiB, plenty for statistics files. */
export function writeZip(entries: ZipEntry[], compress: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  // dos date/time of 1980-01-01 00:00, as zipfile writes for a fixed date_time: keeps output byte-stable
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const e of entries) {
    const nameBytes = new TextEncoder().encode(e.name);
    const body = compress ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    if (offset + body.length > 0xfffffff0) throw new BadInputError('ZIP_TOO_LARGE', 'archive would exceed 4 GiB');
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0, true);
    lv.setUint16(8, compress ? 8 : 0, true);
    lv.setUint16(10, dosTime, true);
    lv.setUint16(12, dosDate, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, 0, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0, true);
    cv.setUint16(10, compress ? 8 : 0, true);
    cv.setUint16(12, dosTime, true);
    cv.setUint16(14, dosDate, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...parts, ...central, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
