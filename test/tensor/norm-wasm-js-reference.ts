// the JS group norm / layer norm kernels that src/tensor/norm-kernels.ts ran before its loops moved to WebAssembly
// (assembly/norm.ts), verbatim but for the imports: the reference that test/tensor/norm-wasm.test.ts holds the
// wasm kernels to, bit for bit.
import type { JsKernel } from '../../src/tensor/js-kernels.js';
import { boolAttr, intAttr, numberAttr } from '../../src/tensor/js-kernels.js';
import { fastExp } from '../../src/tensor/fast-math.js';

// group norm (optionally followed by SiLU) and layer norm as two-pass JS kernels over channels-last tensors.
// statistics accumulate in doubles (JS numbers): one pass of Σx and Σx² is exact enough (x² of a float32 is
// exact in a double), and the results round once to float32. torch semantics: biased variance, eps inside the
// square root. every loop runs in a fixed order, so equal inputs give bit-identical outputs.

export const GROUP_NORM = 'VsdlabGroupNorm';
export const GROUP_NORM_GRAD = 'VsdlabGroupNormGrad';
export const GROUP_NORM_GRAD_GATED = 'VsdlabGroupNormGradGated';
export const LAYER_NORM = 'VsdlabLayerNorm';
export const LAYER_NORM_GRAD = 'VsdlabLayerNormGrad';

const lastDim = (shape: readonly number[]): number => shape[shape.length - 1] ?? 1;
const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const shapeAt = (shapes: readonly number[][], i: number): number[] => {
  const s = shapes[i];
  if (s === undefined) throw new Error(`norm kernel: input ${i} missing`);
  return s;
};
const arrayAt = (arrays: readonly Float32Array[], i: number): Float32Array => {
  const a = arrays[i];
  if (a === undefined) throw new Error(`norm kernel: array ${i} missing`);
  return a;
};

interface GroupGeometry {
  batch: number;
  /** positions per sample (H·W) */
  positions: number;
  channels: number;
  groups: number;
  perGroup: number;
}

const groupGeometry = (xShape: readonly number[], groups: number, kernel: string): GroupGeometry => {
  if (xShape.length < 2) throw new Error(`${kernel}: input of rank ${xShape.length}, at least [batch, channels] expected`);
  const channels = lastDim(xShape);
  if (groups < 1 || channels % groups !== 0) throw new Error(`${kernel}: ${channels} channels do not split into ${groups} groups`);
  const batch = xShape[0] as number;
  const positions = batch === 0 || channels === 0 ? 0 : elements(xShape) / (batch * channels);
  return { batch, positions, channels, groups, perGroup: channels / groups };
};

const checkVector = (shape: readonly number[], channels: number, what: string, kernel: string): void => {
  if (shape.length !== 1 || shape[0] !== channels) throw new Error(`${kernel}: ${what} of shape [${shape.join(', ')}], [${channels}] expected`);
};

// the passes below walk one channel (or four) down the positions of a tile of rows with the coefficients in
// locals: V8 keeps locals in registers but reloads typed-array coefficients per element (measured 0.8 vs 2.3 ns
// per element for the affine pass). a tile holds ≈ 8 KB of each array, so the channel walks stay in L1 (walking
// a whole 256 KB sample per channel ran 3x slower at 64 channels, 32x32).
const TILE_FLOATS = 2048;
/** elements per tile: whole rows of C */
const tileOf = (C: number): number => Math.max(1, Math.floor(TILE_FLOATS / C)) * C;

/** Σx and Σx² of channels [c0, c0 + width) over the rows [base, end) of width C, into out[0], out[1] */
const groupSums = (x: Float32Array, base: number, end: number, C: number, c0: number, width: number, out: Float64Array): void => {
  let s = 0;
  let q = 0;
  if (width % 4 === 0) {
    for (let o = base + c0; o < end; o += C) {
      for (let i = o; i < o + width; i += 4) {
        const v0 = x[i]!;
        const v1 = x[i + 1]!;
        const v2 = x[i + 2]!;
        const v3 = x[i + 3]!;
        s += v0 + v1 + v2 + v3;
        q += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
      }
    }
  } else {
    for (let o = base + c0; o < end; o += C) {
      for (let i = o; i < o + width; i++) {
        const v = x[i]!;
        s += v;
        q += v * v;
      }
    }
  }
  out[0] = s;
  out[1] = q;
};

/** out = src·k[c] + u[c]·other + s[c] down every channel (other may be src with u = 0 for a plain affine) */
const applyAffine = (src: Float32Array, other: Float32Array, out: Float32Array, k: Float64Array, u: Float64Array, s: Float64Array, base: number, end: number, C: number): void => {
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const k0 = k[c]!;
    const k1 = k[c + 1]!;
    const k2 = k[c + 2]!;
    const k3 = k[c + 3]!;
    const u0 = u[c]!;
    const u1 = u[c + 1]!;
    const u2 = u[c + 2]!;
    const u3 = u[c + 3]!;
    const s0 = s[c]!;
    const s1 = s[c + 1]!;
    const s2 = s[c + 2]!;
    const s3 = s[c + 3]!;
    for (let o = base + c; o < end; o += C) {
      out[o] = src[o]! * k0 + other[o]! * u0 + s0;
      out[o + 1] = src[o + 1]! * k1 + other[o + 1]! * u1 + s1;
      out[o + 2] = src[o + 2]! * k2 + other[o + 2]! * u2 + s2;
      out[o + 3] = src[o + 3]! * k3 + other[o + 3]! * u3 + s3;
    }
  }
  for (; c < C; c++) {
    const k0 = k[c]!;
    const u0 = u[c]!;
    const s0 = s[c]!;
    for (let o = base + c; o < end; o += C) out[o] = src[o]! * k0 + other[o]! * u0 + s0;
  }
};

/** y = silu(x·k[c] + s[c]) down every channel; with `gate`, σ(x·k[c] + s[c]) into it too (for the gradient) */
const applyAffineSilu = (x: Float32Array, y: Float32Array, gate: Float32Array | undefined, k: Float64Array, s: Float64Array, base: number, end: number, C: number): void => {
  for (let c = 0; c < C; c++) {
    const k0 = k[c]!;
    const s0 = s[c]!;
    if (gate === undefined) {
      for (let o = base + c; o < end; o += C) {
        const z = x[o]! * k0 + s0;
        y[o] = z / (1 + fastExp(-z));
      }
    } else {
      for (let o = base + c; o < end; o += C) {
        const z = x[o]! * k0 + s0;
        const sig = 1 / (1 + fastExp(-z));
        gate[o] = sig;
        y[o] = z * sig;
      }
    }
  }
};

/**
 * inputs x [B, ..., C], gamma [C], beta [C]; attrs groups, eps, silu, keepGate. outputs y (as x), mean [B, G],
 * rstd [B, G] (1/√(var + eps)), and with silu and keepGate the SiLU's gate σ(z) (as x), which spares the
 * gradient its exp (the costliest part of either pass). y = silu?(gamma·(x − mean)·rstd + beta).
 */
export const groupNormKernel: JsKernel = {
  name: GROUP_NORM,
  inputs: ['x', 'gamma', 'beta'],
  outputShapes: (shapes, attrs) => {
    const x = shapeAt(shapes, 0);
    const g = groupGeometry(x, intAttr(attrs, 'groups', GROUP_NORM), GROUP_NORM);
    checkVector(shapeAt(shapes, 1), g.channels, 'gamma', GROUP_NORM);
    checkVector(shapeAt(shapes, 2), g.channels, 'beta', GROUP_NORM);
    const stats = [g.batch, g.groups];
    return boolAttr(attrs, 'silu') && boolAttr(attrs, 'keepGate') ? [[...x], stats, [...stats], [...x]] : [[...x], stats, [...stats]];
  },
  run: (ins, outs, shapes, attrs) => {
    const { batch, positions: S, channels: C, groups: G, perGroup } = groupGeometry(shapeAt(shapes, 0), intAttr(attrs, 'groups', GROUP_NORM), GROUP_NORM);
    const eps = numberAttr(attrs, 'eps', GROUP_NORM);
    const act = boolAttr(attrs, 'silu');
    const x = arrayAt(ins, 0);
    const gamma = arrayAt(ins, 1);
    const beta = arrayAt(ins, 2);
    const y = arrayAt(outs, 0);
    const meanOut = arrayAt(outs, 1);
    const rstdOut = arrayAt(outs, 2);
    const gate = act ? outs[3] : undefined;
    const sums = new Float64Array(2);
    const scale = new Float64Array(C);
    const shift = new Float64Array(C);
    const zeros = new Float64Array(C);
    const count = S * perGroup;
    const tile = tileOf(C);
    for (let b = 0; b < batch; b++) {
      const base = b * S * C;
      const end = base + S * C;
      for (let g = 0; g < G; g++) {
        let s = 0;
        let q = 0;
        for (let t = base; t < end; t += tile) {
          groupSums(x, t, Math.min(end, t + tile), C, g * perGroup, perGroup, sums);
          s += sums[0]!;
          q += sums[1]!;
        }
        const mean = s / count;
        const variance = Math.max(q / count - mean * mean, 0);
        const rstd = 1 / Math.sqrt(variance + eps);
        meanOut[b * G + g] = mean;
        rstdOut[b * G + g] = rstd;
        for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
          const k = rstd * gamma[c]!;
          scale[c] = k;
          shift[c] = beta[c]! - mean * k;
        }
      }
      for (let t = base; t < end; t += tile) {
        if (act) applyAffineSilu(x, y, gate, scale, shift, t, Math.min(end, t + tile), C);
        else applyAffine(x, x, y, scale, zeros, shift, t, Math.min(end, t + tile), C);
      }
    }
  },
};

/**
 * inputs dy, x, gamma, beta, mean, rstd (the forward's); attrs as the forward. outputs dx, dgamma, dbeta.
 * pass 1 forms dz (the gradient before the affine, through SiLU when on) into dx and the per-channel sums
 * Σdz, Σdz·x̂; pass 2 turns dz into dx = rstd·(γ·dz − mean_g(γ·dz) − x̂·mean_g(γ·dz·x̂)) in place.
 */
export const groupNormGradKernel: JsKernel = {
  name: GROUP_NORM_GRAD,
  inputs: ['dy', 'x', 'gamma', 'beta', 'mean', 'rstd'],
  outputShapes: (shapes, attrs) => {
    const x = shapeAt(shapes, 1);
    const g = groupGeometry(x, intAttr(attrs, 'groups', GROUP_NORM_GRAD), GROUP_NORM_GRAD);
    if (shapeAt(shapes, 0).join(',') !== x.join(',')) throw new Error(`${GROUP_NORM_GRAD}: dy and x differ in shape`);
    return [[...x], [g.channels], [g.channels]];
  },
  run: (ins, outs, shapes, attrs) => {
    const { batch, positions: S, channels: C, groups: G, perGroup } = groupGeometry(shapeAt(shapes, 1), intAttr(attrs, 'groups', GROUP_NORM_GRAD), GROUP_NORM_GRAD);
    const act = boolAttr(attrs, 'silu');
    const dy = arrayAt(ins, 0);
    const x = arrayAt(ins, 1);
    const gamma = arrayAt(ins, 2);
    const beta = arrayAt(ins, 3);
    const meanIn = arrayAt(ins, 4);
    const rstdIn = arrayAt(ins, 5);
    // the forward's σ(z) when it kept it (GROUP_NORM_GRAD_GATED)
    const gate = ins[6];
    const dx = arrayAt(outs, 0);
    const dgamma = arrayAt(outs, 1);
    const dbeta = arrayAt(outs, 2);
    const dgammaAcc = new Float64Array(C);
    const dbetaAcc = new Float64Array(C);
    const sumDz = new Float64Array(C);
    const sumDzXhat = new Float64Array(C);
    const coefDz = new Float64Array(C);
    const coefX = new Float64Array(C);
    const coefOne = new Float64Array(C);
    const count = S * perGroup;
    const tile = tileOf(C);
    for (let b = 0; b < batch; b++) {
      const base = b * S * C;
      const end = base + S * C;
      // pass 1, tile by tile down each channel: dz (into dx when it differs from dy) and its sums
      sumDz.fill(0);
      sumDzXhat.fill(0);
      for (let t = base; t < end; t += tile) {
        const tEnd = Math.min(end, t + tile);
        for (let c = 0; c < C; c++) {
          const g = (c / perGroup) | 0;
          const m = meanIn[b * G + g]!;
          const r = rstdIn[b * G + g]!;
          let sd = 0;
          let sdx = 0;
          if (act && gate !== undefined) {
            const gm = gamma[c]!;
            const bt = beta[c]!;
            for (let o = t + c; o < tEnd; o += C) {
              const xhat = (x[o]! - m) * r;
              const z = xhat * gm + bt;
              const sig = gate[o]!;
              const dz = dy[o]! * sig * (1 + z * (1 - sig));
              dx[o] = dz;
              sd += dz;
              sdx += dz * xhat;
            }
          } else if (act) {
            const gm = gamma[c]!;
            const bt = beta[c]!;
            for (let o = t + c; o < tEnd; o += C) {
              const xhat = (x[o]! - m) * r;
              const z = xhat * gm + bt;
              const sig = 1 / (1 + fastExp(-z));
              const dz = dy[o]! * sig * (1 + z * (1 - sig));
              dx[o] = dz;
              sd += dz;
              sdx += dz * xhat;
            }
          } else {
            for (let o = t + c; o < tEnd; o += C) {
              const d = dy[o]!;
              sd += d;
              sdx += d * (x[o]! - m);
            }
            sdx *= r;
          }
          sumDz[c] = sumDz[c]! + sd;
          sumDzXhat[c] = sumDzXhat[c]! + sdx;
        }
      }
      for (let c = 0; c < C; c++) {
        dbetaAcc[c] = dbetaAcc[c]! + sumDz[c]!;
        dgammaAcc[c] = dgammaAcc[c]! + sumDzXhat[c]!;
      }
      for (let g = 0; g < G; g++) {
        let s = 0;
        let q = 0;
        for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
          s += gamma[c]! * sumDz[c]!;
          q += gamma[c]! * sumDzXhat[c]!;
        }
        const m = meanIn[b * G + g]!;
        const r = rstdIn[b * G + g]!;
        const meanDxhat = s / count;
        const meanDxhatXhat = q / count;
        // dx = r·γ·dz − r·meanDxhat − x̂·r·meanDxhatXhat with x̂ = (x − m)·r, as coefficients of dz, x and 1
        for (let c = g * perGroup; c < (g + 1) * perGroup; c++) {
          coefDz[c] = r * gamma[c]!;
          coefX[c] = -r * r * meanDxhatXhat;
          coefOne[c] = -r * meanDxhat + r * r * m * meanDxhatXhat;
        }
      }
      // pass 2: dx from dz and x, in place over dz when SiLU put it there
      for (let t = base; t < end; t += tile) applyAffine(act ? dx : dy, x, dx, coefDz, coefX, coefOne, t, Math.min(end, t + tile), C);
    }
    for (let c = 0; c < C; c++) {
      dgamma[c] = dgammaAcc[c]!;
      dbeta[c] = dbetaAcc[c]!;
    }
  },
};

/** the same gradient from the forward's kept gate σ(z): inputs dy, x, gamma, beta, mean, rstd, gate */
export const groupNormGradGatedKernel: JsKernel = {
  ...groupNormGradKernel,
  name: GROUP_NORM_GRAD_GATED,
  inputs: [...groupNormGradKernel.inputs, 'gate'],
  outputShapes: (shapes, attrs) => {
    if (shapeAt(shapes, 6).join(',') !== shapeAt(shapes, 1).join(',')) throw new Error(`${GROUP_NORM_GRAD_GATED}: gate and x differ in shape`);
    return groupNormGradKernel.outputShapes(shapes, attrs);
  },
};

/** inputs x [..., C], gamma [C], beta [C]; attr eps. outputs y (as x), mean and rstd [...] (one per row) */
export const layerNormKernel: JsKernel = {
  name: LAYER_NORM,
  inputs: ['x', 'gamma', 'beta'],
  outputShapes: (shapes) => {
    const x = shapeAt(shapes, 0);
    if (x.length < 1) throw new Error(`${LAYER_NORM}: scalar input`);
    checkVector(shapeAt(shapes, 1), lastDim(x), 'gamma', LAYER_NORM);
    checkVector(shapeAt(shapes, 2), lastDim(x), 'beta', LAYER_NORM);
    return [[...x], x.slice(0, -1), x.slice(0, -1)];
  },
  run: (ins, outs, shapes, attrs) => {
    const C = lastDim(shapeAt(shapes, 0));
    const eps = numberAttr(attrs, 'eps', LAYER_NORM);
    const x = arrayAt(ins, 0);
    const gamma = arrayAt(ins, 1);
    const beta = arrayAt(ins, 2);
    const y = arrayAt(outs, 0);
    const meanOut = arrayAt(outs, 1);
    const rstdOut = arrayAt(outs, 2);
    const rows = C === 0 ? 0 : x.length / C;
    for (let row = 0; row < rows; row++) {
      const o = row * C;
      let s = 0;
      let q = 0;
      for (let c = 0; c < C; c++) {
        const v = x[o + c]!;
        s += v;
        q += v * v;
      }
      const mean = s / C;
      const rstd = 1 / Math.sqrt(Math.max(q / C - mean * mean, 0) + eps);
      meanOut[row] = mean;
      rstdOut[row] = rstd;
      for (let c = 0; c < C; c++) y[o + c] = (x[o + c]! - mean) * rstd * gamma[c]! + beta[c]!;
    }
  },
};

/** inputs dy, x, gamma, mean, rstd. outputs dx, dgamma, dbeta */
export const layerNormGradKernel: JsKernel = {
  name: LAYER_NORM_GRAD,
  inputs: ['dy', 'x', 'gamma', 'mean', 'rstd'],
  outputShapes: (shapes) => {
    const x = shapeAt(shapes, 1);
    if (shapeAt(shapes, 0).join(',') !== x.join(',')) throw new Error(`${LAYER_NORM_GRAD}: dy and x differ in shape`);
    return [[...x], [lastDim(x)], [lastDim(x)]];
  },
  run: (ins, outs, shapes) => {
    const C = lastDim(shapeAt(shapes, 1));
    const dy = arrayAt(ins, 0);
    const x = arrayAt(ins, 1);
    const gamma = arrayAt(ins, 2);
    const meanIn = arrayAt(ins, 3);
    const rstdIn = arrayAt(ins, 4);
    const dx = arrayAt(outs, 0);
    const dgamma = arrayAt(outs, 1);
    const dbeta = arrayAt(outs, 2);
    const dgammaAcc = new Float64Array(C);
    const dbetaAcc = new Float64Array(C);
    const rows = C === 0 ? 0 : x.length / C;
    for (let row = 0; row < rows; row++) {
      const o = row * C;
      const mean = meanIn[row]!;
      const rstd = rstdIn[row]!;
      let s = 0;
      let q = 0;
      for (let c = 0; c < C; c++) {
        const g = dy[o + c]!;
        const xhat = (x[o + c]! - mean) * rstd;
        const dxhat = g * gamma[c]!;
        s += dxhat;
        q += dxhat * xhat;
        dbetaAcc[c] = dbetaAcc[c]! + g;
        dgammaAcc[c] = dgammaAcc[c]! + g * xhat;
      }
      const meanDxhat = s / C;
      const meanDxhatXhat = q / C;
      for (let c = 0; c < C; c++) {
        const xhat = (x[o + c]! - mean) * rstd;
        dx[o + c] = rstd * (dy[o + c]! * gamma[c]! - meanDxhat - xhat * meanDxhatXhat);
      }
    }
    for (let c = 0; c < C; c++) {
      dgamma[c] = dgammaAcc[c]!;
      dbeta[c] = dbetaAcc[c]!;
    }
  },
};
