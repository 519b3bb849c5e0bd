import { type WasmModule, wasmModule } from '../tensor/wasm-module.js';

// the fused optimiser's element loops in WebAssembly (assembly/optimizer.ts, f32x4 SIMD), bit for bit what
// fused-optimizer.ts's JS loops compute (test/distill/fused-optimizer-wasm.test.ts). the module has its own
// memory, so each call copies its tensors' values in and the results out (memcpy, ≈ 0.1 ns per byte, small beside
// the ≈ 30 ns per element the Math.fround loops cost).

/** Adam's scalars as float32 values, as the op sequence's scalar tensors hold them */
export interface AdamScalars {
  scale: number;
  scaled: boolean;
  wd: number;
  decayed: boolean;
  b1: number;
  g1: number;
  b2: number;
  g2: number;
  rate: number;
  bc2: number;
  eps: number;
}

/** an EMA updated in the same pass from the new parameters: to = from·decay + p'·rest */
export interface EmaPass {
  from: Float32Array;
  to: Float32Array;
  decay: number;
  rest: number;
}

interface OptimizerExports {
  scalars(): number;
  adam(g: number, p: number, m: number, v: number, pOut: number, e: number, n: number, scaled: number, decayed: number): void;
  ema(e: number, p: number, n: number, decay: number, rest: number): void;
  squareSum(g: number, n: number): number;
}

/** the order in which assembly/optimizer.ts reads its scalars */
const SCALAR_COUNT = 11;

let loaded: WasmModule<OptimizerExports> | undefined;
const optimizerModule = (): WasmModule<OptimizerExports> => (loaded ??= wasmModule<OptimizerExports>('optimizer'));

/** Σ g² added into one float32 accumulator in element order, as tfjs-backend-wasm's Sum of Square */
export function squareSumWasm(g: Float32Array): number {
  const m = optimizerModule();
  const [pg] = m.layout([g.length]) as [number];
  m.f32(pg, g.length).set(g);
  return m.exports.squareSum(pg, g.length);
}

/**
 * Adam.apply's ops (and the EMA's, with `ema`) on one tensor's elements: p, m, v from pv, mv, vv into pw, mw, vw;
 * mv / vv undefined for a first step's zero moments. mv may be mw, vv vw, ema.from ema.to.
 */
export function adamWasm(k: AdamScalars, gv: Float32Array, pv: Float32Array, pw: Float32Array, mv: Float32Array | undefined, mw: Float32Array, vv: Float32Array | undefined, vw: Float32Array, ema?: EmaPass): void {
  const n = gv.length;
  const m = optimizerModule();
  const [pg, pp, pm, pvv, pOut, pe] = m.layout([n, n, n, n, n, ema ? n : 0]) as [number, number, number, number, number, number];
  m.f32(m.exports.scalars(), SCALAR_COUNT).set([k.scale, k.wd, k.b1, k.g1, k.b2, k.g2, k.rate, k.bc2, k.eps, ema?.decay ?? 0, ema?.rest ?? 0]);
  m.f32(pg, n).set(gv);
  m.f32(pp, n).set(pv);
  const mBlock = m.f32(pm, n);
  const vBlock = m.f32(pvv, n);
  if (mv) mBlock.set(mv);
  else mBlock.fill(0);
  if (vv) vBlock.set(vv);
  else vBlock.fill(0);
  const eBlock = ema ? m.f32(pe, n) : undefined;
  if (ema && eBlock) eBlock.set(ema.from);
  m.exports.adam(pg, pp, pm, pvv, pOut, ema ? pe : 0, n, k.scaled ? 1 : 0, k.decayed ? 1 : 0);
  pw.set(m.f32(pOut, n));
  mw.set(mBlock);
  vw.set(vBlock);
  if (ema && eBlock) ema.to.set(eBlock);
}

/** emaUpdate's ops on one tensor's elements: ev·decay + pv·rest into ew (ev may be ew) */
export function emaWasm(ev: Float32Array, pv: Float32Array, ew: Float32Array, decay: number, rest: number): void {
  const n = ev.length;
  const m = optimizerModule();
  const [pe, pp] = m.layout([n, n]) as [number, number];
  const eBlock = m.f32(pe, n);
  eBlock.set(ev);
  m.f32(pp, n).set(pv);
  m.exports.ema(pe, pp, n, decay, rest);
  ew.set(eBlock);
}
