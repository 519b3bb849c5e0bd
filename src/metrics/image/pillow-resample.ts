/**
 * Pillow's Image.resize (src/libImaging/Resample.c, checked against Pillow 9.4.0), written by hand:
 * no JavaScript library reproduces Pillow's resampler (sharp/libvips, canvas, jimp, tfjs all use other
 * kernels, supports or rounding), and FID/CLIP numbers move when the resize differs (metrics.md §2.2, §8.2).
 *
 * What matters for bit-exactness, as Pillow does it:
 * - separable, two passes: horizontal first (only over the source rows the vertical pass will read),
 *   then vertical; a pass is skipped when that side keeps its size (no `box`, no reducing_gap here);
 * - per output index: scale = in/out, filterscale = max(scale, 1), support = filter support × filterscale,
 *   center = (i + 0.5)·scale, xmin = trunc(center − support + 0.5) clamped ≥ 0,
 *   count = min(trunc(center + support + 0.5), in) − xmin, weights filter((x + xmin − center + 0.5)/filterscale)
 *   normalised by their sum, all in double;
 * - uint8 images: weights turned into 22-bit fixed point (round half away from zero), integer accumulation
 *   starting at 2^21, result = clamp(acc >> 22, 0, 255); the horizontal pass is stored as uint8 before the
 *   vertical pass reads it;
 * - float 'F' images: double accumulation, each pass stored as float32, no clipping.
 */
import type { PillowFilter, RgbImage } from './types.js';

interface Filter {
  readonly support: number;
  readonly fn: (x: number) => number;
}

// pillow's kernels, operation order kept so the doubles match bit for bit
const bilinearFilter = (x: number): number => {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
};

const BICUBIC_A = -0.5;
const bicubicFilter = (x: number): number => {
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((BICUBIC_A + 2.0) * x - (BICUBIC_A + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
  return 0.0;
};

const sincFilter = (x: number): number => {
  if (x === 0.0) return 1.0;
  x = x * Math.PI;
  return Math.sin(x) / x;
};

const lanczosFilter = (x: number): number => {
  if (-3.0 <= x && x < 3.0) return sincFilter(x) * sincFilter(x / 3);
  return 0.0;
};

const FILTERS: Record<PillowFilter, Filter> = {
  bilinear: { support: 1.0, fn: bilinearFilter },
  bicubic: { support: 2.0, fn: bicubicFilter },
  lanczos: { support: 3.0, fn: lanczosFilter },
};

/** Per-output-index source window and normalised weights (Pillow's precompute_coeffs, box = whole image). */
export interface ResampleCoeffs {
  /** max taps per output index; weights for output i live at weights[i * ksize ...] */
  ksize: number;
  /** first source index per output index */
  start: Int32Array;
  /** number of source taps per output index */
  count: Int32Array;
  weights: Float64Array;
}

export function precomputeCoeffs(inSize: number, outSize: number, filter: PillowFilter): ResampleCoeffs {
  const { support: filterSupport, fn } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filterSupport * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int) casts in c truncate toward zero
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      ww += w;
    }
    if (ww !== 0.0) {
      for (let x = 0; x < xmax; x++) weights[base + x] = weights[base + x]! / ww;
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const FIXED_HALF = 1 << (PRECISION_BITS - 1);

// pillow's normalize_coeffs_8bpc: round half away from zero into 22-bit fixed point
function fixedPointWeights(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const v = weights[i]!;
    out[i] = v < 0 ? Math.trunc(-0.5 + v * FIXED_ONE) : Math.trunc(0.5 + v * FIXED_ONE);
  }
  return out;
}

// pillow's clip8: arithmetic shift then the [-640, 639] → [0, 255] lookup, i.e. a clamp
const clip8 = (acc: number): number => {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

function assertSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

/**
 * Pillow resize of an 8-bit image with 1–4 interleaved channels (modes L and RGB; for LA/RGBA Pillow
 * would premultiply alpha first, which this does not do). Returns a new interleaved buffer.
 */
export function resizePillowU8(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: PillowFilter,
): Uint8Array {
  for (const [n, v] of [['width', width], ['height', height], ['outWidth', outWidth], ['outHeight', outHeight]] as const) {
    assertSize(n, v);
  }
  if (src.length !== width * height * channels) {
    throw new RangeError(`expected ${width * height * channels} bytes for ${width}x${height}x${channels}, got ${src.length}`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) return src.slice();

  const vert = precomputeCoeffs(height, outHeight, filter);
  // rows the vertical pass reads: the horizontal pass only produces these
  const rowFirst = vert.start[0]!;
  const rowLast = vert.start[outHeight - 1]! + vert.count[outHeight - 1]!;

  let img = src;
  let imgWidth = width;
  let rowOffset = 0;
  if (needHorizontal) {
    const horiz = precomputeCoeffs(width, outWidth, filter);
    const k = fixedPointWeights(horiz.weights);
    const rows = rowLast - rowFirst;
    const tmp = new Uint8Array(outWidth * rows * channels);
    horizontalU8(src, tmp, width, outWidth, rows, rowFirst, channels, horiz, k);
    img = tmp;
    imgWidth = outWidth;
    rowOffset = rowFirst;
  }
  if (!needVertical) return img === src ? src.slice() : img;

  const k = fixedPointWeights(vert.weights);
  const stride = imgWidth * channels;
  const out = new Uint8Array(stride * outHeight);
  // row-wise accumulation: each sample still sums its taps in pillow's order, in exact integers
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = vert.start[yy]! - rowOffset;
    const n = vert.count[yy]!;
    const kb = yy * vert.ksize;
    acc.fill(FIXED_HALF);
    for (let y = 0; y < n; y++) {
      const w = k[kb + y]!;
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = acc[i]! + img[row + i]! * w;
    }
    const dst = yy * stride;
    for (let i = 0; i < stride; i++) out[dst + i] = clip8(acc[i]!);
  }
  return out;
}

function horizontalU8(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  outWidth: number,
  rows: number,
  rowFirst: number,
  channels: number,
  horiz: ResampleCoeffs,
  k: Int32Array,
): void {
  for (let yy = 0; yy < rows; yy++) {
    const srcRow = (yy + rowFirst) * width * channels;
    const dstRow = yy * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = horiz.count[xx]!;
      const kb = xx * horiz.ksize;
      let p = srcRow + horiz.start[xx]! * channels;
      const o = dstRow + xx * channels;
      if (channels === 3) {
        let a0 = FIXED_HALF;
        let a1 = FIXED_HALF;
        let a2 = FIXED_HALF;
        for (let x = 0; x < n; x++, p += 3) {
          const w = k[kb + x]!;
          a0 += src[p]! * w;
          a1 += src[p + 1]! * w;
          a2 += src[p + 2]! * w;
        }
        dst[o] = clip8(a0);
        dst[o + 1] = clip8(a1);
        dst[o + 2] = clip8(a2);
      } else {
        for (let c = 0; c < channels; c++) {
          let a = FIXED_HALF;
          for (let x = 0, q = p + c; x < n; x++, q += channels) a += src[q]! * k[kb + x]!;
          dst[o + c] = clip8(a);
        }
      }
    }
  }
}

/**
 * Pillow resize of a float32 'F' image (one plane, row-major). Double accumulation, float32 storage
 * after each pass, no clipping — what clean-fid does per channel.
 */
export function resizePillowF32(
  src: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  filter: PillowFilter,
  out: Float32Array = new Float32Array(outWidth * outHeight),
): Float32Array {
  return resizePillowFloatChannels(src, width, height, 1, outWidth, outHeight, filter, out);
}

/**
 * Pillow's 'F' resize applied to each channel of an interleaved image as its own 'F' image (clean-fid's
 * per-channel loop, without splitting the planes out). Source samples may be uint8 or float32; the
 * result is interleaved float32.
 */
export function resizePillowFloatChannels(
  src: Float32Array | Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
  filter: PillowFilter,
  out: Float32Array = new Float32Array(outWidth * outHeight * channels),
): Float32Array {
  for (const [n, v] of [['width', width], ['height', height], ['channels', channels], ['outWidth', outWidth], ['outHeight', outHeight]] as const) {
    assertSize(n, v);
  }
  if (src.length !== width * height * channels) throw new RangeError(`expected ${width * height * channels} samples, got ${src.length}`);
  if (out.length !== outWidth * outHeight * channels) {
    throw new RangeError(`output buffer must hold ${outWidth * outHeight * channels} floats`);
  }
  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  if (!needHorizontal && !needVertical) {
    out.set(src);
    return out;
  }
  const vert = precomputeCoeffs(height, outHeight, filter);
  const rowFirst = vert.start[0]!;
  const rowLast = vert.start[outHeight - 1]! + vert.count[outHeight - 1]!;

  let img: Float32Array | Uint8Array = src;
  let imgWidth = width;
  let rowOffset = 0;
  if (needHorizontal) {
    const horiz = precomputeCoeffs(width, outWidth, filter);
    const rows = rowLast - rowFirst;
    const tmp = needVertical ? new Float32Array(outWidth * rows * channels) : out;
    horizontalFloat(src, tmp, width, outWidth, rows, rowFirst, channels, horiz);
    if (!needVertical) return out;
    img = tmp;
    imgWidth = outWidth;
    rowOffset = rowFirst;
  }
  const w = vert.weights;
  const stride = imgWidth * channels;
  // row-wise accumulation in doubles: each sample still sums its taps in pillow's order from 0.0
  const acc = new Float64Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = vert.start[yy]! - rowOffset;
    const n = vert.count[yy]!;
    const kb = yy * vert.ksize;
    acc.fill(0);
    for (let y = 0; y < n; y++) {
      const k = w[kb + y]!;
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = acc[i]! + img[row + i]! * k;
    }
    out.set(acc, yy * stride);
  }
  return out;
}

function horizontalFloat(
  src: Float32Array | Uint8Array,
  dst: Float32Array,
  width: number,
  outWidth: number,
  rows: number,
  rowFirst: number,
  channels: number,
  horiz: ResampleCoeffs,
): void {
  const w = horiz.weights;
  for (let yy = 0; yy < rows; yy++) {
    const srcRow = (yy + rowFirst) * width * channels;
    const dstRow = yy * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const kb = xx * horiz.ksize;
      const n = horiz.count[xx]!;
      let p = srcRow + horiz.start[xx]! * channels;
      const o = dstRow + xx * channels;
      if (channels === 3) {
        let s0 = 0.0;
        let s1 = 0.0;
        let s2 = 0.0;
        for (let x = 0; x < n; x++, p += 3) {
          const k = w[kb + x]!;
          s0 += src[p]! * k;
          s1 += src[p + 1]! * k;
          s2 += src[p + 2]! * k;
        }
        dst[o] = s0;
        dst[o + 1] = s1;
        dst[o + 2] = s2;
      } else {
        for (let c = 0; c < channels; c++) {
          let ss = 0.0;
          for (let x = 0, q = p + c; x < n; x++, q += channels) ss += src[q]! * w[kb + x]!;
          dst[o + c] = ss;
        }
      }
    }
  }
}

/** Pillow `img.resize((outWidth, outHeight), filter)` of an RGB image (uint8 path, as torchvision/PIL do). */
export function resizePillow(img: RgbImage, outWidth: number, outHeight: number, filter: PillowFilter): RgbImage {
  const data = resizePillowU8(img.data, img.width, img.height, 3, outWidth, outHeight, filter);
  return { width: outWidth, height: outHeight, data };
}
