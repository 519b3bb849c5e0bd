import * as tf from '@tensorflow/tfjs';
import { cachedFlipped } from './flipped-filter-cache.js';
import { type KernelAttrs, type KernelCall, type KernelInputs, Scratch, requireKernel } from './kernel-calls.js';

// both conv2d gradients rewritten as forward conv2d calls (xnnpack's fast path, ~31 GFLOP/s on one core)
// plus cheap data movement: the input gradient as s_h·s_w stride-1 convs (one per output phase), the filter
// gradient as one conv over transposed tensors. only NHWC with unit dilations is routed; anything else goes
// to the original kernel (or throws where wasm has none).

type Pair = [number, number];

interface ConvGeometry {
  strides: Pair;
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
}

const asPair = (v: unknown, name: string): Pair => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  throw new Error(`conv2d attribute ${name} must be a number or a pair, got ${JSON.stringify(v)}`);
};

const isRoutable = (attrs: KernelAttrs): boolean => {
  const format = attrs['dataFormat'];
  const dilations = attrs['dilations'];
  const unitDilation = dilations === undefined || dilations === 1 || (Array.isArray(dilations) && dilations.every((d) => d === 1));
  return (format === undefined || format === 'NHWC') && unitDilation;
};

const geometry = (inputShape: number[], filterShape: number[], attrs: KernelAttrs): ConvGeometry => {
  const strides = asPair(attrs['strides'], 'strides');
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    attrs['pad'] as 'same' | 'valid' | number | tf.backend_util.ExplicitPadding,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  return { strides, padTop: info.padInfo.top, padLeft: info.padInfo.left, outHeight: info.outHeight, outWidth: info.outWidth };
};

const dim = (shape: number[], i: number): number => {
  const v = shape[i];
  if (v === undefined) throw new Error(`shape ${JSON.stringify(shape)} has no axis ${i}`);
  return v;
};

/** crops axes 1 and 2 where a padding is negative; returns the input and the non-negative paddings left for the conv */
const cropNegative = (x: tf.TensorInfo, rows: Pair, cols: Pair, backend: tf.KernelBackend, scratch: Scratch, backendName: string): { x: tf.TensorInfo; pad: number[][] } => {
  const grow = (p: number): number => Math.max(0, p);
  const cut = (p: number): number => Math.max(0, -p);
  // passing the padding to the conv itself saves a copy of the (large) input
  const pad = [[0, 0], [grow(rows[0]), grow(rows[1])], [grow(cols[0]), grow(cols[1])], [0, 0]];
  if (!rows.some((p) => p < 0) && !cols.some((p) => p < 0)) return { x, pad };
  const begin = [0, cut(rows[0]), cut(cols[0]), 0];
  const size = [dim(x.shape, 0), dim(x.shape, 1) - cut(rows[0]) - cut(rows[1]), dim(x.shape, 2) - cut(cols[0]) - cut(cols[1]), dim(x.shape, 3)];
  return { x: scratch.keep(requireKernel(tf.Slice, backendName)({ x }, { begin, size }, backend)), pad };
};

const forwardConv = (x: tf.TensorInfo, filter: tf.TensorInfo, pad: number[][], dilations: Pair, backend: tf.KernelBackend, backendName: string): tf.TensorInfo =>
  requireKernel(tf.Conv2D, backendName)({ x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined }, backend);

/** one output phase along one axis of a strided conv's input gradient */
interface AxisPhase {
  /** input positions i = s·u + r of this phase */
  count: number;
  /** first filter tap of the phase (taps first, first + s, ...) */
  first: number;
  taps: number;
  /** padding of dy before / after (negative: crop) for a stride-1 valid correlation */
  before: number;
  after: number;
}

/**
 * for input positions i = s·u + r: dx[i] = Σ_j dy[u + q − j] · w[s·j + c] with c = (r + pad) mod s and
 * q = (r + pad − c)/s, a stride-1 correlation of dy with the reversed sub-filter w[c::s]. splitting the
 * gradient into s² phases skips the zeros a dilated dy would multiply (4x less work at stride 2).
 */
const axisPhase = (r: number, stride: number, kernel: number, padBefore: number, inSize: number, outSize: number): AxisPhase => {
  const count = Math.max(0, Math.ceil((inSize - r) / stride));
  const first = (r + padBefore) % stride;
  const q = (r + padBefore - first) / stride;
  const taps = first < kernel ? Math.ceil((kernel - first) / stride) : 0;
  const before = taps - 1 - q;
  return { count, first, taps, before, after: count + taps - 1 - before - outSize };
};

/**
 * the phase's filter taps w[first::s] reversed in space with in/out channels swapped: [Jh, Jw, out, in].
 * built in JS from the filter's values: wasm's StridedSlice/Reverse/Transpose cost more than the small conv.
 */
const flippedSubFilter = (w: Float32Array, shape: [number, number, number, number], ph: AxisPhase, pw: AxisPhase, strides: Pair, backend: tf.KernelBackend): tf.TensorInfo => {
  const [, kw, ci, co] = shape;
  const out = new Float32Array(ph.taps * pw.taps * co * ci);
  for (let a = 0; a < ph.taps; a++) {
    const srcRow = strides[0] * (ph.taps - 1 - a) + ph.first;
    for (let b = 0; b < pw.taps; b++) {
      const srcCol = strides[1] * (pw.taps - 1 - b) + pw.first;
      const src = (srcRow * kw + srcCol) * ci * co;
      const dst = (a * pw.taps + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) out[dst + o * ci + i] = w[src + i * co + o] as number;
      }
    }
  }
  const outShape = [ph.taps, pw.taps, co, ci];
  return { dataId: backend.write(out, outShape, 'float32'), shape: outShape, dtype: 'float32' };
};

/**
 * dx of a conv2d as s_h·s_w stride-1 forward convs of dy with flipped, channel-swapped sub-filters,
 * interleaved back into place (just one conv at stride 1).
 */
export const conv2dInputGradViaForward = (backendName: string, fallback: KernelCall | undefined): KernelCall => (inputs, attrs, backend) => {
  const dy = inputs['dy'];
  const filter = inputs['filter'];
  if (dy === undefined || filter === undefined) throw new Error('Conv2DBackpropInput called without dy and filter');
  if (!isRoutable(attrs)) {
    if (fallback === undefined) throw new Error('Conv2DBackpropInput: only NHWC with unit dilations is supported on this backend');
    return fallback(inputs, attrs, backend);
  }
  const inputShape = attrs['inputShape'] as number[];
  const [batch, height, width, inChannels] = [dim(inputShape, 0), dim(inputShape, 1), dim(inputShape, 2), dim(inputShape, 3)];
  const [kh, kw, , outChannels] = [dim(filter.shape, 0), dim(filter.shape, 1), dim(filter.shape, 2), dim(filter.shape, 3)];
  const g = geometry(inputShape, filter.shape, attrs);
  const [sh, sw] = g.strides;
  const [rowsPerPhase, colsPerPhase] = [Math.ceil(height / sh), Math.ceil(width / sw)];
  const call = (name: string, ins: KernelInputs | tf.TensorInfo[], at: KernelAttrs): tf.TensorInfo =>
    requireKernel(name, backendName)(ins as KernelInputs, at, backend);
  const scratch = new Scratch(backend);
  // wasm: a view of the filter on the heap, not readSync's copy; taken per phase, since an allocation that grows the
  // heap detaches earlier views (flippedSubFilter reads it before it writes)
  const heap = backend as Partial<{ typedArrayFromHeap(info: tf.TensorInfo): Float32Array }>;
  let values: Float32Array | undefined;
  const filterValues = (): Float32Array =>
    typeof heap.typedArrayFromHeap === 'function' && filter.dtype === 'float32' ? heap.typedArrayFromHeap(filter) : (values ??= backend.readSync(filter.dataId) as Float32Array);
  const phase = (rh: number, rw: number, last: boolean): tf.TensorInfo => {
    const ph = axisPhase(rh, sh, kh, g.padTop, height, g.outHeight);
    const pw = axisPhase(rw, sw, kw, g.padLeft, width, g.outWidth);
    // a single phase is the whole answer and is returned to the caller, not kept as scratch
    const keep = (info: tf.TensorInfo): tf.TensorInfo => (last ? info : scratch.keep(info));
    if (ph.taps === 0 || pw.taps === 0 || ph.count === 0 || pw.count === 0) {
      return keep(call(tf.Fill, {}, { shape: [batch, rowsPerPhase, colsPerPhase, inChannels], value: 0, dtype: 'float32' }));
    }
    // the cache owns the flipped copy (reused while the filter's buffer lives unchanged), so it is not scratch
    const subKey = `${sh},${sw},${ph.first},${ph.taps},${pw.first},${pw.taps}`;
    const swapped = cachedFlipped(backend, filter, subKey, () => flippedSubFilter(filterValues(), [kh, kw, inChannels, outChannels], ph, pw, [sh, sw], backend));
    const src = cropNegative(dy, [ph.before, ph.after], [pw.before, pw.after], backend, scratch, backendName);
    const out = forwardConv(src.x, swapped, src.pad, [1, 1], backend, backendName);
    if (ph.count === rowsPerPhase && pw.count === colsPerPhase) return keep(out);
    scratch.keep(out);
    const paddings = [[0, 0], [0, rowsPerPhase - ph.count], [0, colsPerPhase - pw.count], [0, 0]];
    return keep(call(tf.PadV2, { x: out }, { paddings, constantValue: 0 }));
  };
  try {
    if (sh === 1 && sw === 1) return phase(0, 0, true);
    // interleave: columns first (v·sw + rw), then rows (u·sh + rh), with 3-D concats
    const rows: tf.TensorInfo[] = [];
    for (let rh = 0; rh < sh; rh++) {
      const parts: tf.TensorInfo[] = [];
      for (let rw = 0; rw < sw; rw++) {
        parts.push(scratch.keep(call(tf.Reshape, { x: phase(rh, rw, false) }, { shape: [batch * rowsPerPhase * colsPerPhase, 1, inChannels] })));
      }
      const joined = scratch.keep(call(tf.Concat, parts, { axis: 1 }));
      rows.push(scratch.keep(call(tf.Reshape, { x: joined }, { shape: [batch * rowsPerPhase, 1, colsPerPhase * sw * inChannels] })));
    }
    const all = scratch.keep(call(tf.Concat, rows, { axis: 1 }));
    const full = [batch, rowsPerPhase * sh, colsPerPhase * sw, inChannels];
    if (full[1] === height && full[2] === width) return call(tf.Reshape, { x: all }, { shape: full });
    const shaped = scratch.keep(call(tf.Reshape, { x: all }, { shape: full }));
    return call(tf.Slice, { x: shaped }, { begin: [0, 0, 0, 0], size: [batch, height, width, inChannels] });
  } finally {
    scratch.release();
  }
};

/**
 * dW[a,b,ci,co] = sum_{n,p,q} x[n, p*sh + a - padTop, q*sw + b - padLeft, ci] dy[n,p,q,co]:
 * a forward conv of x^T [ci,H,W,n] with dy^T [oH,oW,n,co] as the filter, dilated by the stride.
 */
export const conv2dFilterGradViaForward = (backendName: string, fallback: KernelCall | undefined): KernelCall => (inputs, attrs, backend) => {
  const x = inputs['x'];
  const dy = inputs['dy'];
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter called without x and dy');
  if (!isRoutable(attrs)) {
    if (fallback === undefined) throw new Error('Conv2DBackpropFilter: only NHWC with unit dilations is supported on this backend');
    return fallback(inputs, attrs, backend);
  }
  const filterShape = attrs['filterShape'] as number[];
  const [kh, kw] = [dim(filterShape, 0), dim(filterShape, 1)];
  const g = geometry(x.shape, filterShape, attrs);
  const [sh, sw] = g.strides;
  const scratch = new Scratch(backend);
  try {
    const transpose = requireKernel(tf.Transpose, backendName);
    const xT = scratch.keep(transpose({ x }, { perm: [3, 1, 2, 0] }, backend));
    const bottom = kh + (g.outHeight - 1) * sh - g.padTop - dim(x.shape, 1);
    const right = kw + (g.outWidth - 1) * sw - g.padLeft - dim(x.shape, 2);
    const xp = cropNegative(xT, [g.padTop, bottom], [g.padLeft, right], backend, scratch, backendName);
    const dyT = scratch.keep(transpose({ x: dy }, { perm: [1, 2, 0, 3] }, backend));
    const dwT = scratch.keep(forwardConv(xp.x, dyT, xp.pad, [sh, sw], backend, backendName));
    return transpose({ x: dwT }, { perm: [1, 2, 0, 3] }, backend);
  } finally {
    scratch.release();
  }
};
