// the fused optimiser's element loops (Adam, EMA, the wasm Sum kernel's Σg²) for src/distill/optimizer-wasm.ts,
// bit for bit what src/distill/fused-optimizer.ts's JS computes: there every op is one float32 op emulated with
// Math.fround, here it is the same float32 op (wasm f32 and f32x4 arithmetic, sqrt included, is IEEE binary32 with
// round-to-nearest and subnormals kept; no FMA), in the same order per element. lanes hold independent elements,
// so f32x4 changes no result; the one reduction (squareSum) stays a scalar chain in the JS order. a NaN comes out
// where JS gives one; its sign and payload are defined by neither side.
// built with an imported memory (scripts/build-wasm.js) and instantiated on tfjs-backend-wasm's own heap
// (src/tensor/wasm-heap-module.ts), so it reads and writes the tensors where they are, with no copy: it must
// therefore own no static data (no memory.data, no strings) and write only through the pointers it is given.

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Adam.apply's ops per element, the gradient first scaled (clip) and decayed (weight decay) when the flags say,
 * then, with `ema`, emaUpdate's from the new parameter: g, p, m, v (, e) → p', m', v' (, e') at pOut, mOut, vOut
 * (, eOut). an output may be its input (m, v in place): each element is read before it is written. the flags
 * are constants at each call site below, so each variant's loop carries no test.
 */
@inline function adamLoop(g: usize, p: usize, m: usize, v: usize, pOut: usize, mOut: usize, vOut: usize, e: usize, eOut: usize, n: i32, scale: f32, wd: f32, b1: f32, g1: f32, b2: f32, g2: f32, rate: f32, bc2: f32, eps: f32, ed: f32, ep: f32, scaled: bool, decayed: bool, ema: bool): void {
  const scaleV = f32x4.splat(scale);
  const wdV = f32x4.splat(wd);
  const b1V = f32x4.splat(b1);
  const g1V = f32x4.splat(g1);
  const b2V = f32x4.splat(b2);
  const g2V = f32x4.splat(g2);
  const rateV = f32x4.splat(rate);
  const bc2V = f32x4.splat(bc2);
  const epsV = f32x4.splat(eps);
  const edV = f32x4.splat(ed);
  const epV = f32x4.splat(ep);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const at = <usize>i << 2;
    const pi = v128.load(p + at);
    let gi = v128.load(g + at);
    if (scaled) gi = f32x4.mul(gi, scaleV);
    if (decayed) gi = f32x4.add(gi, f32x4.mul(pi, wdV));
    const mi = f32x4.add(f32x4.mul(v128.load(m + at), b1V), f32x4.mul(gi, g1V));
    const vi = f32x4.add(f32x4.mul(v128.load(v + at), b2V), f32x4.mul(f32x4.mul(gi, gi), g2V));
    v128.store(mOut + at, mi);
    v128.store(vOut + at, vi);
    const po = f32x4.sub(pi, f32x4.div(f32x4.mul(mi, rateV), f32x4.add(f32x4.sqrt(f32x4.div(vi, bc2V)), epsV)));
    v128.store(pOut + at, po);
    if (ema) v128.store(eOut + at, f32x4.add(f32x4.mul(v128.load(e + at), edV), f32x4.mul(po, epV)));
  }
  for (let i = n4; i < n; i++) {
    const at = <usize>i << 2;
    const pi = load<f32>(p + at);
    let gi = load<f32>(g + at);
    if (scaled) gi = gi * scale;
    if (decayed) gi = gi + pi * wd;
    const mi = load<f32>(m + at) * b1 + gi * g1;
    const vi = load<f32>(v + at) * b2 + gi * gi * g2;
    store<f32>(mOut + at, mi);
    store<f32>(vOut + at, vi);
    const po = pi - (mi * rate) / (sqrt<f32>(vi / bc2) + eps);
    store<f32>(pOut + at, po);
    if (ema) store<f32>(eOut + at, load<f32>(e + at) * ed + po * ep);
  }
}

/**
 * one parameter tensor's Adam step over n floats (and its EMA when e ≠ 0), with Adam's float32 scalars as
 * fused-optimizer.ts's AdamScalars and the EMA's decay and 1 − decay. scaled: clip the gradient by `scale`;
 * decayed: add weight decay.
 */
export function adam(g: usize, p: usize, m: usize, v: usize, pOut: usize, mOut: usize, vOut: usize, e: usize, eOut: usize, n: i32, scaled: bool, decayed: bool, scale: f32, wd: f32, b1: f32, g1: f32, b2: f32, g2: f32, rate: f32, bc2: f32, eps: f32, ed: f32, ep: f32): void {
  if (e != 0) {
    if (scaled) {
      if (decayed) adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, true, true, true);
      else adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, true, false, true);
    } else {
      if (decayed) adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, false, true, true);
      else adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, false, false, true);
    }
  } else {
    if (scaled) {
      if (decayed) adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, true, true, false);
      else adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, true, false, false);
    } else {
      if (decayed) adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, false, true, false);
      else adamLoop(g, p, m, v, pOut, mOut, vOut, e, eOut, n, scale, wd, b1, g1, b2, g2, rate, bc2, eps, ed, ep, false, false, false);
    }
  }
}

/** emaUpdate's ops over n floats: e' = e·decay + p·rest into eOut (which may be e) */
export function ema(e: usize, p: usize, eOut: usize, n: i32, decay: f32, rest: f32): void {
  const dV = f32x4.splat(decay);
  const rV = f32x4.splat(rest);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const at = <usize>i << 2;
    v128.store(eOut + at, f32x4.add(f32x4.mul(v128.load(e + at), dV), f32x4.mul(v128.load(p + at), rV)));
  }
  for (let i = n4; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(eOut + at, load<f32>(e + at) * decay + load<f32>(p + at) * rest);
  }
}

/**
 * Σ g² over n floats as tfjs-backend-wasm's Sum of Square adds it: into one float32 accumulator, element by
 * element (a sum's rounding depends on its order, so no lanes here; the squares alone are independent)
 */
export function squareSum(g: usize, n: i32): f32 {
  let acc: f32 = 0;
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const s = f32x4.mul(v128.load(g + (<usize>i << 2)), v128.load(g + (<usize>i << 2)));
    acc += f32x4.extract_lane(s, 0);
    acc += f32x4.extract_lane(s, 1);
    acc += f32x4.extract_lane(s, 2);
    acc += f32x4.extract_lane(s, 3);
  }
  for (let i = n4; i < n; i++) {
    const x = load<f32>(g + (<usize>i << 2));
    acc += x * x;
  }
  return acc;
}
