import * as tf from '@tensorflow/tfjs';
import type { WeightSource } from './params.js';
import { type LoraAdapter, loraConvDelta, loraDelta, loraPair } from './lora.js';
import { fusedLinear, linearKernelActive } from '../tensor/linear-kernel.js';
import { convBiasKernelActive, fusedConvBias } from '../tensor/conv-bias-kernel.js';
import { gradientsInBackward } from '../tensor/tape.js';
import { geglu as fusedGeglu, groupNorm as fusedGroupNorm, layerNorm as fusedLayerNorm, silu as fusedSilu } from '../tensor/fused-ops.js';

/** what every layer needs: where its weights come from, and the LoRA adapter if any */
export interface LayerContext {
  weights: WeightSource;
  lora?: LoraAdapter | undefined;
}

const dimOf = (x: tf.Tensor, axis: number): number => {
  const d = x.shape[axis < 0 ? x.shape.length + axis : axis];
  if (d === undefined) throw new Error(`tensor of shape [${x.shape.join(', ')}] has no axis ${axis}`);
  return d;
};

/** y = x W + b over the last axis; LoRA-adapted when the context's adapter targets `name` */
export const linear = (ctx: LayerContext, name: string, x: tf.Tensor, outDim: number, options: { bias?: boolean; init?: 'fanIn' | 'zeros' } = {}): tf.Tensor => {
  const inDim = dimOf(x, -1);
  const w = ctx.weights.get(`${name}.w`, [inDim, outDim], options.init ?? 'fanIn') as tf.Tensor2D;
  // one dispatch for the whole chain below, the same bits (tensor/linear-kernel.ts)
  if (linearKernelActive() && x.dtype === 'float32') {
    const bias = options.bias !== false ? ctx.weights.get(`${name}.b`, [outDim], 'zeros') : undefined;
    return fusedLinear(x, w, bias, loraPair(ctx.lora, `${name}.w`));
  }
  return linearChain(ctx, name, x, w, outDim, options.bias !== false);
};

/** linear as tfjs ops: the reference the fused kernel reproduces, and the path on backends without it */
const linearChain = (ctx: LayerContext, name: string, x: tf.Tensor, w: tf.Tensor2D, outDim: number, bias: boolean): tf.Tensor => {
  const inDim = dimOf(x, -1);
  const x2d = x.reshape([-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(x2d, w);
  const delta = loraDelta(ctx.lora, `${name}.w`, x2d);
  if (delta !== undefined) y = tf.add(y, delta);
  if (bias) y = tf.add(y, ctx.weights.get(`${name}.b`, [outDim], 'zeros'));
  return y.reshape([...x.shape.slice(0, -1), outDim]);
};

/**
 * NHWC conv with bias. Padding 'same' by default (with stride 2 tfjs pads only bottom/right); `padding: p` pads p on
 * every side as torch's Conv2d(padding=p) does, which SD's stride-2 downsamplers need.
 */
export const conv = (
  ctx: LayerContext,
  name: string,
  x: tf.Tensor4D,
  outChannels: number,
  kernel: number,
  options: { stride?: number; padding?: number; init?: 'fanIn' | 'zeros' } = {},
): tf.Tensor4D => {
  const w = ctx.weights.get(`${name}.w`, [kernel, kernel, dimOf(x, 3), outChannels], options.init ?? 'fanIn') as tf.Tensor4D;
  const b = ctx.weights.get(`${name}.b`, [outChannels], 'zeros');
  const p = options.padding;
  // without a LoRA delta, conv2d + bias as one dispatch, the same bits (tensor/conv-bias-kernel.ts)
  if (convBiasKernelActive() && x.dtype === 'float32' && loraPair(ctx.lora, `${name}.w`) === undefined) {
    return fusedConvBias(x, w, b, options.stride ?? 1, p === undefined ? 'same' : [[0, 0], [p, p], [p, p], [0, 0]]);
  }
  const y = p === undefined ? tf.conv2d(x, w, options.stride ?? 1, 'same') : tf.conv2d(x, w, options.stride ?? 1, [[0, 0], [p, p], [p, p], [0, 0]]);
  const delta = loraConvDelta(ctx.lora, `${name}.w`, x, options.stride ?? 1);
  return tf.add(delta === undefined ? y : tf.add(y, delta), b);
};

/**
 * group normalisation over (H, W, channels of the group), eps 1e-5 as torch unless given; `silu` applies SiLU
 * after it (ResBlock's GN → SiLU) in the same fused op
 */
export const groupNorm = (ctx: LayerContext, name: string, x: tf.Tensor4D, groups: number, options: { silu?: boolean; eps?: number } = {}): tf.Tensor4D => {
  const c = x.shape[3];
  return fusedGroupNorm(x, ctx.weights.get(`${name}.gamma`, [c], 'ones'), ctx.weights.get(`${name}.beta`, [c], 'zeros'), groups, { eps: options.eps ?? 1e-5, silu: options.silu === true });
};

/** layer normalisation over the last axis, eps 1e-5 as torch unless given */
export const layerNorm = (ctx: LayerContext, name: string, x: tf.Tensor, options: { eps?: number } = {}): tf.Tensor => {
  const c = dimOf(x, -1);
  return fusedLayerNorm(x, ctx.weights.get(`${name}.gamma`, [c], 'ones'), ctx.weights.get(`${name}.beta`, [c], 'zeros'), options.eps ?? 1e-5);
};

export const silu = (x: tf.Tensor): tf.Tensor => fusedSilu(x);

/** SD's GEGLU gate on [..., 2D] = [value | gate]: value · gelu(gate), with the tanh GELU (tfjs has no erf-based gelu op with a gradient on every backend); fused */
export const geglu = (x: tf.Tensor): tf.Tensor => fusedGeglu(x);

/** GELU with the exact erf, as torch's F.gelu (approximate='none') */
export const geluErf = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));

/** diffusers' GEGLU gate on [..., 2D] = [value | gate]: value · gelu(gate) with the exact erf GELU */
export const gegluErf = (x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const [value, gate] = tf.split(x, 2, -1);
    if (value === undefined || gate === undefined) throw new Error('gegluErf: split failed');
    return tf.mul(value, geluErf(gate));
  });

/** CLIP's quick_gelu: x · σ(1.702 x) */
export const quickGelu = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))));

export interface AttentionOptions {
  /**
   * compute the (batch · head) rows in slices of this many, as diffusers' set_attention_slice: only one slice's
   * score tensor [slice, N, M] exists at a time, in the forward and (recomputed per slice) in the backward
   */
  slice?: number | undefined;
}

/**
 * multi-head scaled dot-product attention on [B, N, heads·d] queries and [B, M, heads·d] keys/values, with an
 * optional additive mask [N, M] (e.g. CLIP's causal mask): softmax(q kᵀ / √d + mask) v, heads joined again
 */
export const attention = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number, mask?: tf.Tensor2D, options: AttentionOptions = {}): tf.Tensor3D =>
  tf.tidy(() => {
    const [b, n, inner] = q.shape;
    const m = k.shape[1];
    const d = inner / heads;
    const split = (t: tf.Tensor3D, len: number): tf.Tensor3D => t.reshape([b, len, heads, d]).transpose([0, 2, 1, 3]).reshape([b * heads, len, d]);
    const slice = options.slice;
    const rows = b * heads;
    const out =
      slice === undefined || slice >= rows
        ? scaledDotProduct(split(q, n), split(k, m), split(v, m), d, mask)
        : slicedScaledDotProduct(split(q, n), split(k, m), split(v, m), d, mask, checkSlice(slice));
    return out.reshape([b, heads, n, d]).transpose([0, 2, 1, 3]).reshape([b, n, inner]);
  });

const checkSlice = (slice: number): number => {
  if (!Number.isInteger(slice) || slice < 1) throw new Error(`attention slice must be a positive integer, got ${slice}`);
  return slice;
};

/** softmax(q kᵀ / √d + mask) v on [R, N, d] × [R, M, d] × [R, M, d] */
const scaledDotProduct = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, d: number, mask: tf.Tensor2D | undefined): tf.Tensor3D => {
  let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
  if (mask !== undefined) scores = tf.add(scores, mask);
  return tf.matMul(tf.softmax(scores), v) as tf.Tensor3D;
};

/** the rows [start, start + size) of the first axis */
const rowsOf = (t: tf.Tensor3D, start: number, size: number): tf.Tensor3D => t.slice([start, 0, 0], [size, -1, -1]);

/** scaledDotProduct one slice of rows at a time, each slice's output kept, the rest freed */
const forwardBySlice = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, d: number, mask: tf.Tensor2D | undefined, slice: number): tf.Tensor3D => {
  const parts: tf.Tensor3D[] = [];
  for (let s = 0; s < q.shape[0]; s += slice) {
    const size = Math.min(slice, q.shape[0] - s);
    parts.push(tf.tidy(() => scaledDotProduct(rowsOf(q, s, size), rowsOf(k, s, size), rowsOf(v, s, size), d, mask)));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
};

/**
 * sliced attention; while a gradient is recorded, one op that keeps q, k, v (and the mask) and recomputes each
 * slice's scores in its backward, so the tape never holds them whole. Rows are independent, so each slice's
 * gradients are those of the unsliced ops on its rows; the mask's gradient is summed over the slices.
 */
const slicedScaledDotProduct = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, d: number, mask: tf.Tensor2D | undefined, slice: number): tf.Tensor3D => {
  if (!tf.engine().isTapeOn()) return forwardBySlice(q, k, v, d, mask, slice);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [qi, ki, vi, maskIn] = args as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D | undefined];
    save(args as tf.Tensor[]);
    return {
      value: forwardBySlice(qi, ki, vi, d, maskIn, slice),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [qs, ks, vs, maskSaved] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor2D | undefined];
        const dOut = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor3D;
        const dq: tf.Tensor[] = [];
        const dk: tf.Tensor[] = [];
        const dv: tf.Tensor[] = [];
        let dMask: tf.Tensor | undefined;
        for (let s = 0; s < qs.shape[0]; s += slice) {
          const size = Math.min(slice, qs.shape[0] - s);
          const xs: tf.Tensor[] = [rowsOf(qs, s, size), rowsOf(ks, s, size), rowsOf(vs, s, size)];
          if (maskSaved !== undefined) xs.push(maskSaved);
          const [gq, gk, gv, gm] = gradientsInBackward(() => scaledDotProduct(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor3D, xs[2] as tf.Tensor3D, d, maskSaved), xs, rowsOf(dOut, s, size));
          tf.dispose(xs.slice(0, 3));
          dq.push(gq as tf.Tensor);
          dk.push(gk as tf.Tensor);
          dv.push(gv as tf.Tensor);
          if (gm !== undefined) {
            const before = dMask;
            dMask = before === undefined ? gm : tf.add(before, gm);
            if (before !== undefined) tf.dispose([before, gm]);
          }
        }
        const grads = [tf.concat(dq, 0), tf.concat(dk, 0), tf.concat(dv, 0)];
        tf.dispose([...dq, ...dk, ...dv]);
        return dMask === undefined ? grads : [...grads, dMask];
      },
    };
  });
  return (mask === undefined ? op(q, k, v) : op(q, k, v, mask)) as tf.Tensor3D;
};

/**
 * diffusers' Timesteps(dim, flip_sin_to_cos, downscale_freq_shift) computed in float32 as torch does (the angle
 * t·f_i rounded to float32 before sin/cos; at t ≈ 1000 float64 angles would differ by ~6e-5)
 */
export const sinusoidalTimesteps = (t: readonly number[], dim: number, options: { flipSinToCos: boolean; freqShift: number }): tf.Tensor2D => {
  const half = Math.floor(dim / 2);
  const f32 = Math.fround;
  const freqs = Array.from({ length: half }, (_, i) => f32(Math.exp(f32(f32(f32(-Math.log(10000)) * i) / (half - options.freqShift)))));
  const data = new Float32Array(t.length * dim);
  t.forEach((ti, row) => {
    for (let i = 0; i < half; i++) {
      const angle = f32(f32(ti) * (freqs[i] as number));
      const [first, second] = options.flipSinToCos ? [Math.cos(angle), Math.sin(angle)] : [Math.sin(angle), Math.cos(angle)];
      data[row * dim + i] = first;
      data[row * dim + half + i] = second;
    }
  });
  return tf.tensor2d(data, [t.length, dim]);
};

/** nearest-neighbour 2x upsampling from reshapes and concats, whose gradients exist on every backend (wasm lacks ResizeNearestNeighborGrad) */
export const upsampleNearest2x = (x: tf.Tensor4D): tf.Tensor4D => {
  const [b, h, w, c] = x.shape;
  const cols = x.reshape([b * h, w, 1, c]);
  const wide = tf.concat([cols, cols], 2).reshape([b, h, 1, 2 * w * c]);
  return tf.concat([wide, wide], 2).reshape([b, 2 * h, 2 * w, c]) as tf.Tensor4D;
};

/**
 * sinusoidal timestep features as diffusers' Timesteps(flip_sin_to_cos=True, downscale_freq_shift=0):
 * [cos(t f_i), sin(t f_i)] with f_i = 10000^(−i/half)
 */
export const timestepFeatures = (t: readonly number[], dim: number): tf.Tensor2D => {
  const half = Math.floor(dim / 2);
  const data = new Float32Array(t.length * dim);
  t.forEach((ti, row) => {
    for (let i = 0; i < half; i++) {
      const angle = ti * Math.exp((-Math.log(10000) * i) / half);
      data[row * dim + i] = Math.cos(angle);
      data[row * dim + half + i] = Math.sin(angle);
    }
  });
  return tf.tensor2d(data, [t.length, dim]);
};

/** [B,H,W,C] → [B,H/p,W/p,p·p·C] (channel order (row, col, c) as torch's pixel_unshuffle after NHWC permutation), from reshapes and transposes, which have gradients everywhere */
export const spaceToDepth = (x: tf.Tensor4D, p: number): tf.Tensor4D => {
  if (p === 1) return x;
  const [b, h, w, c] = x.shape;
  return x.reshape([b * (h / p), p, w / p, p * c]).transpose([0, 2, 1, 3]).reshape([b, h / p, w / p, p * p * c]) as tf.Tensor4D;
};

/** the inverse of spaceToDepth */
export const depthToSpace = (x: tf.Tensor4D, p: number): tf.Tensor4D => {
  if (p === 1) return x;
  const [b, h, w, cc] = x.shape;
  const c = cc / (p * p);
  return x.reshape([b * h, w, p, p * c]).transpose([0, 2, 1, 3]).reshape([b, h * p, w * p, c]) as tf.Tensor4D;
};
