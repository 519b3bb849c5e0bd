import { wasmHeapModule } from '../tensor/wasm-heap-module.js';

// the fused optimiser's element loops in WebAssembly (assembly/optimizer.ts, f32x4 SIMD), bit for bit what
// fused-optimizer.ts's JS loops compute (test/distill/fused-optimizer-wasm.test.ts). the module runs on
// tfjs-backend-wasm's heap itself (wasm-heap-module.ts): every array here is a view of a tensor there
// (FloatStorage.view on the wasm backend), read and written in place, with no copy.

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

/** an EMA updated in the same pass from the new parameters: to = from·decay + p'·rest (to may be from) */
export interface EmaPass {
  from: Float32Array;
  to: Float32Array;
  decay: number;
  rest: number;
}

interface OptimizerExports {
  adam(g: number, p: number, m: number, v: number, pOut: number, mOut: number, vOut: number, e: number, eOut: number, n: number, scaled: number, decayed: number, scale: number, wd: number, b1: number, g1: number, b2: number, g2: number, rate: number, bc2: number, eps: number, ed: number, ep: number): void;
  ema(e: number, p: number, eOut: number, n: number, decay: number, rest: number): void;
  squareSum(g: number, n: number): number;
}

const optimizer = () => wasmHeapModule<OptimizerExports>('optimizer');

/** Σ g² added into one float32 accumulator in element order, as tfjs-backend-wasm's Sum of Square */
export function squareSumWasm(g: Float32Array): number {
  const m = optimizer();
  return m.exports.squareSum(m.address(g), g.length);
}

/**
 * Adam.apply's ops (and the EMA's, with `ema`) on one tensor's elements: p, m, v from pv, mv, vv into pw, mw, vw.
 * mv may be mw and vv vw (moments updated in place); a first step passes zeroed mw and vw as mv and vv.
 */
export function adamWasm(k: AdamScalars, gv: Float32Array, pv: Float32Array, pw: Float32Array, mv: Float32Array, mw: Float32Array, vv: Float32Array, vw: Float32Array, ema?: EmaPass): void {
  const n = gv.length;
  for (const a of [pv, pw, mv, mw, vv, vw, ...(ema ? [ema.from, ema.to] : [])]) if (a.length !== n) throw new Error(`adam (wasm): arrays of ${a.length} and ${n} floats`);
  const m = optimizer();
  const at = m.address;
  m.exports.adam(at(gv), at(pv), at(mv), at(vv), at(pw), at(mw), at(vw), ema ? at(ema.from) : 0, ema ? at(ema.to) : 0, n, k.scaled ? 1 : 0, k.decayed ? 1 : 0, k.scale, k.wd, k.b1, k.g1, k.b2, k.g2, k.rate, k.bc2, k.eps, ema?.decay ?? 0, ema?.rest ?? 0);
}

/** emaUpdate's ops on one tensor's elements: ev·decay + pv·rest into ew (ev may be ew) */
export function emaWasm(ev: Float32Array, pv: Float32Array, ew: Float32Array, decay: number, rest: number): void {
  if (pv.length !== ev.length || ew.length !== ev.length) throw new Error(`ema (wasm): arrays of ${pv.length}, ${ew.length} and ${ev.length} floats`);
  const m = optimizer();
  m.exports.ema(m.address(ev), m.address(pv), m.address(ew), ev.length, decay, rest);
}
