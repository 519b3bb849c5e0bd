/**
 * TF1 tf.compat.v1.image.resize_bilinear(align_corners=False, half_pixel_centers=False) as torch-fidelity's
 * interpolate_bilinear_2d_like_tensorflow1x(method='slow') computes it on CPU (bit-exact there; metrics.md §3.3):
 * src = dst · float32(in/out) in float32, x0 = trunc(src), x1 = min(x0 + 1, in − 1), dx = src − x0,
 * row lerps a + (b − a)·dx then a column lerp, each elementwise op rounded to float32.
 * This is also clean-fid's legacy_tensorflow resize and torchmetrics' resize with antialias=False.
 */
import type { PlanarImage } from './types.js';

const f32 = Math.fround;

function taps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; d: Float32Array } {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const d = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const g = f32(o * scale);
    const lo = Math.trunc(g);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    d[o] = f32(g - lo);
  }
  return { i0, i1, d };
}

/** Resize a float32 CHW image the TF1 way (see file comment). */
export function tf1Bilinear(img: PlanarImage, outWidth: number, outHeight: number): PlanarImage {
  const { width, height, channels, data } = img;
  for (const v of [width, height, channels, outWidth, outHeight]) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`sizes must be positive integers, got ${v}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`expected ${width * height * channels} floats, got ${data.length}`);
  }
  const xs = taps(width, outWidth);
  const ys = taps(height, outHeight);
  const out = new Float32Array(outWidth * outHeight * channels);
  for (let c = 0; c < channels; c++) {
    const plane = c * width * height;
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = plane + ys.i0[oy]! * width;
      const r1 = plane + ys.i1[oy]! * width;
      const dy = ys.d[oy]!;
      const dst = (c * outHeight + oy) * outWidth;
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = xs.i0[ox]!;
        const x1 = xs.i1[ox]!;
        const dx = xs.d[ox]!;
        const a00 = data[r0 + x0]!;
        const a10 = data[r1 + x0]!;
        const top = f32(a00 + f32(f32(data[r0 + x1]! - a00) * dx));
        const bottom = f32(a10 + f32(f32(data[r1 + x1]! - a10) * dx));
        out[dst + ox] = f32(top + f32(f32(bottom - top) * dy));
      }
    }
  }
  return { width: outWidth, height: outHeight, channels, data: out };
}
