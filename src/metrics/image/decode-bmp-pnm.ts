/**
 * Small decoders for the formats pytorch-fid accepts that sharp's libvips build cannot read: binary PGM/PPM
 * (P5/P6, maxval 255) and uncompressed BMP (1/4/8-bit palette, 24-bit, 32-bit BI_RGB read as BGRX like
 * Pillow). Anything else throws, and decodeImage reports it as unreadable.
 */
import type { RgbImage } from './types.js';

export const isBmp = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
export const isBinaryPnm = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x50 && (b[1] === 0x35 || b[1] === 0x36);

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;

export function decodePnm(b: Uint8Array): RgbImage {
  let pos = 2;
  const token = (): number => {
    for (;;) {
      while (pos < b.length && isSpace(b[pos]!)) pos++;
      if (b[pos] === 0x23) {
        while (pos < b.length && b[pos] !== 0x0a && b[pos] !== 0x0d) pos++; // comment to end of line
        continue;
      }
      break;
    }
    const from = pos;
    while (pos < b.length && b[pos]! >= 0x30 && b[pos]! <= 0x39) pos++;
    if (pos === from) throw new Error('malformed PNM header');
    return Number(new TextDecoder().decode(b.subarray(from, pos)));
  };
  const colour = b[1] === 0x36;
  const width = token();
  const height = token();
  const maxval = token();
  if (maxval !== 255) throw new Error(`PNM maxval ${maxval} is not supported (only 255)`);
  pos++; // exactly one whitespace byte before the samples
  const ch = colour ? 3 : 1;
  const n = width * height;
  if (width < 1 || height < 1 || b.length - pos < n * ch) throw new Error('truncated PNM data');
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) data[p * 3 + c] = b[pos + p * ch + (colour ? c : 0)]!;
  }
  return { width, height, data };
}

export function decodeBmp(b: Uint8Array): RgbImage {
  if (b.length < 54) throw new Error('truncated BMP header');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const dibSize = dv.getUint32(14, true);
  if (dibSize < 40) throw new Error(`BMP header of ${dibSize} bytes is not supported`);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const colorsUsed = dv.getUint32(46, true);
  if (compression !== 0) throw new Error(`compressed BMP (method ${compression}) is not supported`);
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new Error(`${bpp}-bit BMP is not supported`);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  if (width < 1 || height < 1) throw new Error('empty BMP');
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowBytes * height > b.length) throw new Error('truncated BMP data');
  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const entries = colorsUsed || 1 << bpp;
    const at = 14 + dibSize;
    if (at + entries * 4 > b.length) throw new Error('truncated BMP palette');
    palette = new Uint8Array(256 * 3); // indices past the palette read black
    for (let i = 0; i < entries && i < 256; i++) {
      palette[i * 3] = b[at + i * 4 + 2]!;
      palette[i * 3 + 1] = b[at + i * 4 + 1]!;
      palette[i * 3 + 2] = b[at + i * 4]!;
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (bottomUp ? height - 1 - y : y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const bit = x * bpp;
        const byte = b[row + (bit >> 3)]!;
        const idx = (byte >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        data[o] = palette[idx * 3]!;
        data[o + 1] = palette[idx * 3 + 1]!;
        data[o + 2] = palette[idx * 3 + 2]!;
      } else {
        const p = row + x * (bpp >> 3); // BGR or BGRX
        data[o] = b[p + 2]!;
        data[o + 1] = b[p + 1]!;
        data[o + 2] = b[p]!;
      }
    }
  }
  return { width, height, data };
}
