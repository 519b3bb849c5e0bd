/**
 * Pillow's Image.convert('RGB') rules (libImaging/Convert.c, Pillow 9.4), applied to raw decoded samples:
 * - grey (L, 1): replicated; grey+alpha (LA): alpha dropped;
 * - RGBA / palette with transparency: alpha dropped, never composited onto a background;
 * - CMYK: r = clip(nk − nk·c/255) with nk = 255 − k, Pillow's MULDIV255 rounding;
 * - 16-bit grey PNG (Pillow mode 'I'): the 16-bit value clipped to [0, 255] (not scaled);
 * - other 16-bit PNGs (RGB, RGBA, LA): the high byte.
 */
import type { RgbImage } from './types.js';

export type RawLayout = 'grey' | 'grey-alpha' | 'rgb' | 'rgba' | 'cmyk';

export interface RawPixels {
  width: number;
  height: number;
  layout: RawLayout;
  /** 8 or 16 bits per sample */
  bits: 8 | 16;
  /** interleaved samples (Uint16Array when bits = 16) */
  data: Uint8Array | Uint16Array;
}

const CHANNELS: Record<RawLayout, number> = { grey: 1, 'grey-alpha': 2, rgb: 3, rgba: 4, cmyk: 4 };

export const channelsOf = (layout: RawLayout): number => CHANNELS[layout];

// pillow's MULDIV255(a, b): (t + (t >> 8)) >> 8 with t = a·b + 128
const mulDiv255 = (a: number, b: number): number => {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
};
const clip8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

export function convertToRgb(raw: RawPixels): RgbImage {
  const { width, height, layout, bits, data } = raw;
  const ch = CHANNELS[layout];
  const n = width * height;
  if (data.length !== n * ch) {
    throw new RangeError(`expected ${n * ch} samples for ${width}x${height} ${layout}, got ${data.length}`);
  }
  if (bits === 16 && layout === 'cmyk') throw new RangeError('16-bit CMYK is not supported');
  // 16-bit: pillow keeps the high byte, except lone grey (mode 'I') which it clips
  const to8: (v: number) => number =
    bits === 8 ? (v) => v : layout === 'grey' ? (v) => (v > 255 ? 255 : v) : (v) => v >> 8;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const s = p * ch;
    const o = p * 3;
    if (layout === 'grey' || layout === 'grey-alpha') {
      const v = to8(data[s]!);
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    } else if (layout === 'cmyk') {
      const nk = 255 - data[s + 3]!;
      out[o] = clip8(nk - mulDiv255(data[s]!, nk));
      out[o + 1] = clip8(nk - mulDiv255(data[s + 1]!, nk));
      out[o + 2] = clip8(nk - mulDiv255(data[s + 2]!, nk));
    } else {
      out[o] = to8(data[s]!);
      out[o + 1] = to8(data[s + 1]!);
      out[o + 2] = to8(data[s + 2]!);
    }
  }
  return { width, height, data: out };
}
