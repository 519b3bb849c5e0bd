import type { JsKernel } from './js-kernels.js';
import { boolAttr, intAttr, numberAttr } from './js-kernels.js';
import { EXP_FRACTION } from './fast-math.js';
import { type WasmModule, wasmModule } from './wasm-module.js';

// group norm (optionally followed by SiLU) and layer norm as two-pass kernels over channels-last tensors, their
// loops in WebAssembly (assembly/norm.ts, f64x2 SIMD): each call copies its inputs into the module's memory and
// its outputs back (tfjs's wasm heap is not shared). statistics accumulate in doubles: one pass of Σx and Σx² is
// exact enough (x² of a float32 is exact in a double), and the results round once to float32. torch semantics:
// biased variance, eps inside the square root. every loop runs in a fixed order, so equal inputs give
// bit-identical outputs (the same bits as the JS loops these replaced: test/tensor/norm-wasm.test.ts).

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
}

const groupGeometry = (xShape: readonly number[], groups: number, kernel: string): GroupGeometry => {
  if (xShape.length < 2) throw new Error(`${kernel}: input of rank ${xShape.length}, at least [batch, channels] expected`);
  const channels = lastDim(xShape);
  if (groups < 1 || channels % groups !== 0) throw new Error(`${kernel}: ${channels} channels do not split into ${groups} groups`);
  const batch = xShape[0] as number;
  const positions = batch === 0 || channels === 0 ? 0 : elements(xShape) / (batch * channels);
  return { batch, positions, channels, groups };
};

const checkVector = (shape: readonly number[], channels: number, what: string, kernel: string): void => {
  if (shape.length !== 1 || shape[0] !== channels) throw new Error(`${kernel}: ${what} of shape [${shape.join(', ')}], [${channels}] expected`);
};

interface NormExports {
  fractionTable(): number;
  groupNorm(x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, gate: number, scratch: number, batch: number, positions: number, channels: number, groups: number, eps: number, silu: number): void;
  groupNormGrad(dy: number, x: number, gamma: number, beta: number, mean: number, rstd: number, gate: number, dx: number, dgamma: number, dbeta: number, scratch: number, batch: number, positions: number, channels: number, groups: number, silu: number): void;
  layerNorm(x: number, gamma: number, beta: number, y: number, mean: number, rstd: number, rows: number, channels: number, eps: number): void;
  layerNormGrad(dy: number, x: number, gamma: number, mean: number, rstd: number, dx: number, dgamma: number, dbeta: number, scratch: number, rows: number, channels: number): void;
}

let loaded: WasmModule<NormExports> | undefined;
/** assembly/norm.ts, with fast-math's exp fraction table copied in (its exp is fastExp to the bit) */
const normModule = (): WasmModule<NormExports> => {
  if (loaded === undefined) {
    const m = wasmModule<NormExports>('norm');
    m.f64(m.exports.fractionTable(), EXP_FRACTION.length).set(EXP_FRACTION);
    loaded = m;
  }
  return loaded;
};

/** the module's blocks of these lengths, with `arrays` copied into the first of them */
const copyIn = (m: WasmModule<NormExports>, arrays: readonly Float32Array[], lengths: readonly number[]): number[] => {
  const offsets = m.layout([...arrays.map((a) => a.length), ...lengths]);
  arrays.forEach((a, i) => m.f32(offsets[i] as number, a.length).set(a));
  return offsets;
};

const copyOut = (m: WasmModule<NormExports>, offset: number, out: Float32Array): void => out.set(m.f32(offset, out.length));

/** doubles as a length in floats (the loader lays out float blocks) */
const doubles = (n: number): number => 2 * n;

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
    const { batch, positions: S, channels: C, groups: G } = groupGeometry(shapeAt(shapes, 0), intAttr(attrs, 'groups', GROUP_NORM), GROUP_NORM);
    const eps = numberAttr(attrs, 'eps', GROUP_NORM);
    const silu = boolAttr(attrs, 'silu');
    const x = arrayAt(ins, 0);
    const gate = silu ? outs[3] : undefined;
    const n = x.length;
    const m = normModule();
    const [px, pGamma, pBeta, py, pMean, pRstd, pGate, pScratch] = copyIn(m, [x, arrayAt(ins, 1), arrayAt(ins, 2)], [n, batch * G, batch * G, gate === undefined ? 0 : n, doubles(3 * C)]) as [number, number, number, number, number, number, number, number];
    m.exports.groupNorm(px, pGamma, pBeta, py, pMean, pRstd, gate === undefined ? 0 : pGate, pScratch, batch, S, C, G, eps, silu ? 1 : 0);
    copyOut(m, py, arrayAt(outs, 0));
    copyOut(m, pMean, arrayAt(outs, 1));
    copyOut(m, pRstd, arrayAt(outs, 2));
    if (gate !== undefined) copyOut(m, pGate, gate);
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
    const { batch, positions: S, channels: C, groups: G } = groupGeometry(shapeAt(shapes, 1), intAttr(attrs, 'groups', GROUP_NORM_GRAD), GROUP_NORM_GRAD);
    const silu = boolAttr(attrs, 'silu');
    // the forward's σ(z) when it kept it (GROUP_NORM_GRAD_GATED)
    const gate = ins[6];
    const n = arrayAt(ins, 1).length;
    const m = normModule();
    const inputs = [arrayAt(ins, 0), arrayAt(ins, 1), arrayAt(ins, 2), arrayAt(ins, 3), arrayAt(ins, 4), arrayAt(ins, 5), ...(gate === undefined ? [] : [gate])];
    const offsets = copyIn(m, inputs, [n, C, C, doubles(9 * C)]);
    const [pdy, px, pGamma, pBeta, pMean, pRstd] = offsets as [number, number, number, number, number, number];
    const [pdx, pdGamma, pdBeta, pScratch] = offsets.slice(inputs.length) as [number, number, number, number];
    m.exports.groupNormGrad(pdy, px, pGamma, pBeta, pMean, pRstd, gate === undefined ? 0 : (offsets[6] as number), pdx, pdGamma, pdBeta, pScratch, batch, S, C, G, silu ? 1 : 0);
    copyOut(m, pdx, arrayAt(outs, 0));
    copyOut(m, pdGamma, arrayAt(outs, 1));
    copyOut(m, pdBeta, arrayAt(outs, 2));
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
    const rows = C === 0 ? 0 : x.length / C;
    const m = normModule();
    const [px, pGamma, pBeta, py, pMean, pRstd] = copyIn(m, [x, arrayAt(ins, 1), arrayAt(ins, 2)], [x.length, rows, rows]) as [number, number, number, number, number, number];
    m.exports.layerNorm(px, pGamma, pBeta, py, pMean, pRstd, rows, C, eps);
    copyOut(m, py, arrayAt(outs, 0));
    copyOut(m, pMean, arrayAt(outs, 1));
    copyOut(m, pRstd, arrayAt(outs, 2));
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
    const x = arrayAt(ins, 1);
    const rows = C === 0 ? 0 : x.length / C;
    const m = normModule();
    const [pdy, px, pGamma, pMean, pRstd, pdx, pdGamma, pdBeta, pScratch] = copyIn(m, [arrayAt(ins, 0), x, arrayAt(ins, 2), arrayAt(ins, 3), arrayAt(ins, 4)], [x.length, C, C, doubles(2 * C)]) as [number, number, number, number, number, number, number, number, number];
    m.exports.layerNormGrad(pdy, px, pGamma, pMean, pRstd, pdx, pdGamma, pdBeta, pScratch, rows, C);
    copyOut(m, pdx, arrayAt(outs, 0));
    copyOut(m, pdGamma, arrayAt(outs, 1));
    copyOut(m, pdBeta, arrayAt(outs, 2));
  },
};
