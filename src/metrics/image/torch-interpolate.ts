/**
 * torch.nn.functional.interpolate(mode='bilinear', align_corners=False) on float32 NCHW, CPU, as in torch 1.13
 * (aten/src/ATen/native/cpu/UpSampleKernel.cpp), written by hand and checked against torch's output.
 *
 * antialias=False: half-pixel source index src = scale·(dst + 0.5) − 0.5 (kept in double until the lambdas
 * are stored as float32) clamped at 0, 2×2 taps, right/bottom neighbour clamped; one pass
 * out = (i00·w0 + i01·w1)·h0 + (i10·w0 + i11·w1)·h1 in float32. This is torch's channels-first kernel
 * (C ≥ 2, e.g. RGB); for C = 1 torch takes its channels-last kernel, which rounds differently.
 * antialias=True: separable like Pillow (width pass into a float32 temp, then height), triangle filter whose
 * support grows with the downscale factor, weights and sums in float32.
 *
 * torch compiles these kernels once per CPU capability (default / AVX2 / AVX-512) and picks one at run time;
 * the vector builds let the compiler fuse p·q + r into an FMA, so results differ by a few float32 ulps between
 * machines (measured ≤ 3; ATEN_CPU_CAPABILITY=default selects the plain build). Both are reproduced bit for bit:
 * fma=true (default) is the AVX2/AVX-512 build that x86 servers run, fma=false the plain 'default' build.
 * In the AVX2 antialias kernel the compiler fuses only the scalar tail of each sum: after the first tap, taps
 * go in unfused groups of four, the 1–3 left over are fused (found by matching torch's output, see the test).
 */
import type { PlanarImage } from './types.js';

const f32 = Math.fround;

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

// compute_source_index_and_lambda with float scalar_t
function linearTaps(inSize: number, outSize: number): LinearTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  const scale = f32(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (inSize === outSize) {
      i0[o] = o;
      i1[o] = o;
      w0[o] = 1;
      w1[o] = 0;
      continue;
    }
    // the source index stays in double precision until the lambda is stored (measured against torch)
    let real = scale * (o + 0.5) - 0.5;
    if (real < 0) real = 0;
    const idx = Math.trunc(real);
    i0[o] = idx;
    i1[o] = idx + (idx < inSize - 1 ? 1 : 0);
    const l1 = f32(real - idx);
    w1[o] = l1;
    w0[o] = f32(1 - l1);
  }
  return { i0, i1, w0, w1 };
}

function checkSizes(img: PlanarImage, outWidth: number, outHeight: number): void {
  for (const v of [img.width, img.height, img.channels, outWidth, outHeight]) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`sizes must be positive integers, got ${v}`);
  }
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new RangeError(`expected ${img.width * img.height * img.channels} floats, got ${img.data.length}`);
  }
}

export interface TorchBilinearOptions {
  /** reproduce torch's AVX2/AVX-512 kernel (fused multiply-adds; default) or its plain 'default' kernel */
  fma?: boolean;
}

/** F.interpolate(x, (outHeight, outWidth), mode='bilinear', align_corners=False, antialias=False). */
export function torchBilinear(img: PlanarImage, outWidth: number, outHeight: number, options: TorchBilinearOptions = {}): PlanarImage {
  const fma = options.fma ?? true;
  checkSizes(img, outWidth, outHeight);
  const { width, height, channels, data } = img;
  const xs = linearTaps(width, outWidth);
  const ys = linearTaps(height, outHeight);
  const out = new Float32Array(outWidth * outHeight * channels);
  for (let c = 0; c < channels; c++) {
    const plane = c * width * height;
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = plane + ys.i0[oy]! * width;
      const r1 = plane + ys.i1[oy]! * width;
      const h0 = ys.w0[oy]!;
      const h1 = ys.w1[oy]!;
      const dst = (c * outHeight + oy) * outWidth;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = xs.i0[ox]!;
        const x1 = xs.i1[ox]!;
        const a = xs.w0[ox]!;
        const b = xs.w1[ox]!;
        if (fma) {
          // p*q of two float32 is exact in a double, so p*q + r rounded once is the fused multiply-add
          const t0 = f32(data[r0 + x0]! * a + f32(data[r0 + x1]! * b));
          const t1 = f32(data[r1 + x0]! * a + f32(data[r1 + x1]! * b));
          out[dst + ox] = t0 * h0 + f32(t1 * h1);
        } else {
          const t0 = f32(f32(data[r0 + x0]! * a) + f32(data[r0 + x1]! * b));
          const t1 = f32(f32(data[r1 + x0]! * a) + f32(data[r1 + x1]! * b));
          out[dst + ox] = f32(t0 * h0) + f32(t1 * h1);
        }
      }
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}

interface AaTaps {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
}

// torch's _compute_indices_weights_aa for the linear (triangle) filter, scalar_t = float
function antialiasTaps(inSize: number, outSize: number): AaTaps {
  const scale = f32(inSize / outSize);
  const support = scale >= 1.0 ? f32(1.0 * scale) : 1.0;
  const ksize = Math.ceil(support) * 2 + 1;
  const invscale = scale >= 1.0 ? f32(1.0 / scale) : 1.0;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * ksize);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const n = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    const base = i * ksize;
    let total = 0;
    for (let j = 0; j < n; j++) {
      // (j + xmin − center) in float32, then + 0.5 and × invscale in double, rounded once into the float argument
      let x = f32((f32(f32(j + xmin) - center) + 0.5) * invscale);
      if (x < 0) x = -x;
      const w = x < 1.0 ? f32(1.0 - x) : 0;
      weights[base + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) for (let j = 0; j < n; j++) weights[base + j] = f32(weights[base + j]! / total);
    start[i] = xmin;
    count[i] = n;
  }
  return { ksize, start, count, weights };
}

// one output sample: taps v[p + j·step]·w[kb + j] summed the way torch's build does (see the file comment)
function sumTaps(v: Float32Array, p: number, step: number, w: Float32Array, kb: number, n: number, fma: boolean): number {
  let acc = f32(v[p]! * w[kb]!);
  let j = 1;
  if (fma) {
    const grouped = 1 + Math.floor((n - 1) / 4) * 4;
    for (; j < grouped; j++) acc = f32(acc + f32(v[p + j * step]! * w[kb + j]!)); // groups of four, unfused
    for (; j < n; j++) acc = f32(v[p + j * step]! * w[kb + j]! + acc); // fused tail
  } else {
    for (; j < n; j++) acc = f32(acc + f32(v[p + j * step]! * w[kb + j]!));
  }
  return acc;
}

/** F.interpolate(x, (outHeight, outWidth), mode='bilinear', align_corners=False, antialias=True). */
export function torchBilinearAntialias(img: PlanarImage, outWidth: number, outHeight: number, options: TorchBilinearOptions = {}): PlanarImage {
  const fma = options.fma ?? true;
  checkSizes(img, outWidth, outHeight);
  const { width, height, channels, data } = img;
  const xs = antialiasTaps(width, outWidth);
  const ys = antialiasTaps(height, outHeight);
  const tmp = new Float32Array(outWidth * height * channels);
  for (let r = 0; r < height * channels; r++) {
    const src = r * width;
    const dst = r * outWidth;
    for (let ox = 0; ox < outWidth; ox++) {
      tmp[dst + ox] = sumTaps(data, src + xs.start[ox]!, 1, xs.weights, ox * xs.ksize, xs.count[ox]!, fma);
    }
  }
  const out = new Float32Array(outWidth * outHeight * channels);
  for (let c = 0; c < channels; c++) {
    const plane = c * height * outWidth;
    for (let oy = 0; oy < outHeight; oy++) {
      const kb = oy * ys.ksize;
      const n = ys.count[oy]!;
      const p0 = plane + ys.start[oy]! * outWidth;
      const dst = (c * outHeight + oy) * outWidth;
      for (let ox = 0; ox < outWidth; ox++) out[dst + ox] = sumTaps(tmp, p0 + ox, outWidth, ys.weights, kb, n, fma);
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}
