// group norm (+ SiLU), layer norm and their gradients over channels-last float32 tensors, for
// src/tensor/norm-kernels.ts. every value is bit-identical to the JS kernels these replaced: the same double
// operations in the same order per element (wasm f64 is IEEE like JS numbers; no FMA), the same exp (fast-math.ts's
// table method, its fraction table copied in by the caller), every reduction in the JS kernels' exact order
// (including their tiles of ≈ 2048 floats). SIMD only runs independent chains side by side: two channels, or two
// groups, per f64x2. the caller lays out all buffers (no allocation here). a NaN comes out where the JS kernels
// give one; its sign bit is defined by neither side (IEEE and wasm leave it open; compilers commute operands).

import { expPair, expScalar } from './_fast-exp';

/** fast-math.ts's 2^(j/32), j < 32: written by the caller before the first call */
const FRACTION: usize = memory.data(32 * 8, 16);

/** where the caller writes the exp fraction table */
export function fractionTable(): usize {
  return FRACTION;
}

/** where the module's static data ends: the loader lays out call buffers above it (every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}

// the JS tiles: whole rows of C, ≈ 2048 floats (the reductions add per tile, then the tiles' sums)
const TILE_FLOATS: i32 = 2048;

@inline function rowsPerTile(C: i32): i32 {
  return max<i32>(1, TILE_FLOATS / C);
}

@inline function f32at(base: usize, i: i32): f64 {
  return <f64>load<f32>(base + (<usize>i << 2));
}

@inline function f64at(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

@inline function putF32(base: usize, i: i32, v: f64): void {
  store<f32>(base + (<usize>i << 2), <f32>v);
}

@inline function putF64(base: usize, i: i32, v: f64): void {
  store<f64>(base + (<usize>i << 3), v);
}

/** floats [p, p + 1] as an f64x2 */
@inline function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** floats [p, p + 3] as two f64x2: lanes 0, 1 and 2, 3 */
@inline function lowPair(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline function highPair(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** two f64x2 rounded to float32 and stored as four floats at p */
@inline function store4(p: usize, lo: v128, hi: v128): void {
  v128.store(p, f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
}

// -------------------------------------------------------------------------------------------------- group norm

// the per-tile sums of a group pair land here (Σx of groups g, g+1; then Σx²)
const SUMS: usize = memory.data(32, 16);

/**
 * Σx and Σx² over the rows [0, S) of width C of groups g and g + 1 (channels [c0, c0 + 2·width)), each group as
 * the JS groupSums adds it: per tile from 0 (in fours of ((v0 + v1) + v2) + v3 when width % 4 == 0), then the
 * tiles' sums in order. lane 0 is group g, lane 1 group g + 1.
 */
function groupSumsPair(x: usize, S: i32, C: i32, c0: i32, width: i32): void {
  const tileRows = rowsPerTile(C);
  const gap = <usize>width << 2;
  let s = f64x2.splat(0);
  let q = f64x2.splat(0);
  for (let r0 = 0; r0 < S; r0 += tileRows) {
    const r1 = min<i32>(S, r0 + tileRows);
    let ls = f64x2.splat(0);
    let lq = f64x2.splat(0);
    if (width % 4 == 0) {
      for (let row = r0; row < r1; row++) {
        let p = x + (<usize>(row * C + c0) << 2);
        for (let i = 0; i < width; i += 4, p += 16) {
          const a = v128.load(p);
          const b = v128.load(p + gap);
          const v0 = f64x2.promote_low_f32x4(f32x4.shuffle(a, b, 0, 4, 0, 4));
          const v1 = f64x2.promote_low_f32x4(f32x4.shuffle(a, b, 1, 5, 1, 5));
          const v2 = f64x2.promote_low_f32x4(f32x4.shuffle(a, b, 2, 6, 2, 6));
          const v3 = f64x2.promote_low_f32x4(f32x4.shuffle(a, b, 3, 7, 3, 7));
          ls = f64x2.add(ls, f64x2.add(f64x2.add(f64x2.add(v0, v1), v2), v3));
          lq = f64x2.add(lq, f64x2.add(f64x2.add(f64x2.add(f64x2.mul(v0, v0), f64x2.mul(v1, v1)), f64x2.mul(v2, v2)), f64x2.mul(v3, v3)));
        }
      }
    } else {
      for (let row = r0; row < r1; row++) {
        let p = x + (<usize>(row * C + c0) << 2);
        for (let i = 0; i < width; i++, p += 4) {
          const v = f64x2.promote_low_f32x4(v128.load32_lane(p + gap, v128.load32_zero(p), 1));
          ls = f64x2.add(ls, v);
          lq = f64x2.add(lq, f64x2.mul(v, v));
        }
      }
    }
    s = f64x2.add(s, ls);
    q = f64x2.add(q, lq);
  }
  v128.store(SUMS, s);
  v128.store(SUMS + 16, q);
}

/** groupSumsPair for one group (the last of an odd count) */
function groupSumsOne(x: usize, S: i32, C: i32, c0: i32, width: i32): void {
  const tileRows = rowsPerTile(C);
  let s: f64 = 0;
  let q: f64 = 0;
  for (let r0 = 0; r0 < S; r0 += tileRows) {
    const r1 = min<i32>(S, r0 + tileRows);
    let ls: f64 = 0;
    let lq: f64 = 0;
    if (width % 4 == 0) {
      for (let row = r0; row < r1; row++) {
        const o = row * C + c0;
        for (let i = o; i < o + width; i += 4) {
          const v0 = f32at(x, i);
          const v1 = f32at(x, i + 1);
          const v2 = f32at(x, i + 2);
          const v3 = f32at(x, i + 3);
          ls += v0 + v1 + v2 + v3;
          lq += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3;
        }
      }
    } else {
      for (let row = r0; row < r1; row++) {
        const o = row * C + c0;
        for (let i = o; i < o + width; i++) {
          const v = f32at(x, i);
          ls += v;
          lq += v * v;
        }
      }
    }
    s += ls;
    q += lq;
  }
  store<f64>(SUMS, s);
  store<f64>(SUMS + 16, q);
}

/** out = src·k[c] + other·u[c] + s[c] over n rows of C (k, u, s doubles) */
function applyAffine(src: usize, other: usize, out: usize, k: usize, u: usize, s: usize, n: i32, C: i32): void {
  const c4 = C & ~3;
  for (let row = 0; row < n; row++) {
    const o = row * C;
    for (let c = 0; c < c4; c += 4) {
      const at = <usize>(o + c) << 2;
      const a = v128.load(src + at);
      const b = v128.load(other + at);
      const kc = k + (<usize>c << 3);
      const uc = u + (<usize>c << 3);
      const sc = s + (<usize>c << 3);
      const lo = f64x2.add(f64x2.add(f64x2.mul(lowPair(a), v128.load(kc)), f64x2.mul(lowPair(b), v128.load(uc))), v128.load(sc));
      const hi = f64x2.add(f64x2.add(f64x2.mul(highPair(a), v128.load(kc, 16)), f64x2.mul(highPair(b), v128.load(uc, 16))), v128.load(sc, 16));
      store4(out + at, lo, hi);
    }
    for (let c = c4; c < C; c++) putF32(out, o + c, f32at(src, o + c) * f64at(k, c) + f32at(other, o + c) * f64at(u, c) + f64at(s, c));
  }
}

/** y = silu(x·k[c] + s[c]) over n rows of C; with gate ≠ 0, σ(x·k[c] + s[c]) into it too */
function applyAffineSilu(x: usize, y: usize, gate: usize, k: usize, s: usize, n: i32, C: i32): void {
  const c4 = C & ~3;
  const one = f64x2.splat(1);
  for (let row = 0; row < n; row++) {
    const o = row * C;
    for (let c = 0; c < c4; c += 4) {
      const at = <usize>(o + c) << 2;
      const v = v128.load(x + at);
      const kc = k + (<usize>c << 3);
      const sc = s + (<usize>c << 3);
      const zl = f64x2.add(f64x2.mul(lowPair(v), v128.load(kc)), v128.load(sc));
      const zh = f64x2.add(f64x2.mul(highPair(v), v128.load(kc, 16)), v128.load(sc, 16));
      const dl = f64x2.add(one, expPair(f64x2.neg(zl), FRACTION));
      const dh = f64x2.add(one, expPair(f64x2.neg(zh), FRACTION));
      if (gate == 0) {
        store4(y + at, f64x2.div(zl, dl), f64x2.div(zh, dh));
      } else {
        const sl = f64x2.div(one, dl);
        const sh = f64x2.div(one, dh);
        store4(gate + at, sl, sh);
        store4(y + at, f64x2.mul(zl, sl), f64x2.mul(zh, sh));
      }
    }
    for (let c = c4; c < C; c++) {
      const z = f32at(x, o + c) * f64at(k, c) + f64at(s, c);
      if (gate == 0) {
        putF32(y, o + c, z / (1 + expScalar(-z, FRACTION)));
      } else {
        const sig = 1 / (1 + expScalar(-z, FRACTION));
        putF32(gate, o + c, sig);
        putF32(y, o + c, z * sig);
      }
    }
  }
}

/** the per-group statistics into mean/rstd and the per-channel scale and shift of group g */
@inline function groupCoefficients(s: f64, q: f64, count: f64, eps: f64, g: i32, stat: i32, pg: i32, gamma: usize, beta: usize, meanOut: usize, rstdOut: usize, scale: usize, shift: usize): void {
  const mean = s / count;
  const variance = max<f64>(q / count - mean * mean, 0);
  const rstd = 1 / Math.sqrt(variance + eps);
  putF32(meanOut, stat, mean);
  putF32(rstdOut, stat, rstd);
  for (let c = g * pg; c < (g + 1) * pg; c++) {
    const k = rstd * f32at(gamma, c);
    putF64(scale, c, k);
    putF64(shift, c, f32at(beta, c) - mean * k);
  }
}

/**
 * group norm forward, as norm-kernels.ts's VsdlabGroupNorm: x [B, S, C] → y, mean and rstd [B, G], and the SiLU
 * gate when gate ≠ 0. scratch: 3·C doubles (scale, shift, zeros).
 */
export function groupNorm(x: usize, gamma: usize, beta: usize, y: usize, meanOut: usize, rstdOut: usize, gate: usize, scratch: usize, batch: i32, S: i32, C: i32, G: i32, eps: f64, silu: bool): void {
  const pg = C / G;
  const count = <f64>(S * pg);
  const scale = scratch;
  const shift = scratch + (<usize>C << 3);
  const zeros = shift + (<usize>C << 3);
  memory.fill(zeros, 0, <usize>C << 3);
  for (let b = 0; b < batch; b++) {
    const base = <usize>(b * S * C) << 2;
    const xb = x + base;
    let g = 0;
    for (; g + 2 <= G; g += 2) {
      groupSumsPair(xb, S, C, g * pg, pg);
      groupCoefficients(load<f64>(SUMS), load<f64>(SUMS + 16), count, eps, g, b * G + g, pg, gamma, beta, meanOut, rstdOut, scale, shift);
      groupCoefficients(load<f64>(SUMS + 8), load<f64>(SUMS + 24), count, eps, g + 1, b * G + g + 1, pg, gamma, beta, meanOut, rstdOut, scale, shift);
    }
    for (; g < G; g++) {
      groupSumsOne(xb, S, C, g * pg, pg);
      groupCoefficients(load<f64>(SUMS), load<f64>(SUMS + 16), count, eps, g, b * G + g, pg, gamma, beta, meanOut, rstdOut, scale, shift);
    }
    if (silu) applyAffineSilu(xb, y + base, gate == 0 ? 0 : gate + base, scale, shift, S, C);
    else applyAffine(xb, xb, y + base, scale, zeros, shift, S, C);
  }
}

/**
 * group norm gradient, as norm-kernels.ts's VsdlabGroupNormGrad(Gated): dy, x, gamma, beta, mean, rstd (and the
 * kept gate when gate ≠ 0) → dx, dgamma, dbeta. scratch: 9·C doubles.
 */
export function groupNormGrad(dy: usize, x: usize, gamma: usize, beta: usize, meanIn: usize, rstdIn: usize, gate: usize, dx: usize, dgamma: usize, dbeta: usize, scratch: usize, batch: i32, S: i32, C: i32, G: i32, silu: bool): void {
  const pg = C / G;
  const count = <f64>(S * pg);
  const tileRows = rowsPerTile(C);
  const block = <usize>C << 3;
  const dgammaAcc = scratch;
  const dbetaAcc = dgammaAcc + block;
  const sumDz = dbetaAcc + block;
  const sumDzXhat = sumDz + block;
  const coefDz = sumDzXhat + block;
  const coefX = coefDz + block;
  const coefOne = coefX + block;
  const mc = coefOne + block;
  const rc = mc + block;
  memory.fill(dgammaAcc, 0, block * 2);
  const mode = !silu ? 0 : gate != 0 ? 1 : 2;
  const c2 = C & ~1;
  for (let b = 0; b < batch; b++) {
    const base = <usize>(b * S * C) << 2;
    const dyb = dy + base;
    const xb = x + base;
    const dxb = dx + base;
    const gateb: usize = gate == 0 ? 0 : gate + base;
    memory.fill(sumDz, 0, block * 2);
    for (let c = 0; c < C; c++) {
      const g = c / pg;
      putF64(mc, c, f32at(meanIn, b * G + g));
      putF64(rc, c, f32at(rstdIn, b * G + g));
    }
    // pass 1, tile by tile, two channels at a time: dz (into dx with SiLU) and its sums
    for (let r0 = 0; r0 < S; r0 += tileRows) {
      const r1 = min<i32>(S, r0 + tileRows);
      for (let c = 0; c < c2; c += 2) {
        const cc = <usize>c << 3;
        const gm = load2(gamma + (<usize>c << 2));
        const bt = load2(beta + (<usize>c << 2));
        const m = v128.load(mc + cc);
        const r = v128.load(rc + cc);
        // (inlined per mode so that the row loop carries no mode test)
        let sd = f64x2.splat(0);
        let sdx = f64x2.splat(0);
        const one = f64x2.splat(1);
        const step = <usize>C << 2;
        let at = <usize>(r0 * C + c) << 2;
        if (mode == 0) {
          for (let row = r0; row < r1; row++, at += step) {
            const d = load2(dyb + at);
            sd = f64x2.add(sd, d);
            sdx = f64x2.add(sdx, f64x2.mul(d, f64x2.sub(load2(xb + at), m)));
          }
          sdx = f64x2.mul(sdx, r);
        } else if (mode == 1) {
          for (let row = r0; row < r1; row++, at += step) {
            const xhat = f64x2.mul(f64x2.sub(load2(xb + at), m), r);
            const z = f64x2.add(f64x2.mul(xhat, gm), bt);
            const sig = load2(gateb + at);
            const dz = f64x2.mul(f64x2.mul(load2(dyb + at), sig), f64x2.add(one, f64x2.mul(z, f64x2.sub(one, sig))));
            v128.store64_lane(dxb + at, f32x4.demote_f64x2_zero(dz), 0);
            sd = f64x2.add(sd, dz);
            sdx = f64x2.add(sdx, f64x2.mul(dz, xhat));
          }
        } else {
          for (let row = r0; row < r1; row++, at += step) {
            const xhat = f64x2.mul(f64x2.sub(load2(xb + at), m), r);
            const z = f64x2.add(f64x2.mul(xhat, gm), bt);
            const sig = f64x2.div(one, f64x2.add(one, expPair(f64x2.neg(z), FRACTION)));
            const dz = f64x2.mul(f64x2.mul(load2(dyb + at), sig), f64x2.add(one, f64x2.mul(z, f64x2.sub(one, sig))));
            v128.store64_lane(dxb + at, f32x4.demote_f64x2_zero(dz), 0);
            sd = f64x2.add(sd, dz);
            sdx = f64x2.add(sdx, f64x2.mul(dz, xhat));
          }
        }
        v128.store(sumDz + cc, f64x2.add(v128.load(sumDz + cc), sd));
        v128.store(sumDzXhat + cc, f64x2.add(v128.load(sumDzXhat + cc), sdx));
      }
      if (c2 < C) {
        // the odd last channel
        const c = c2;
        const gm = f32at(gamma, c);
        const bt = f32at(beta, c);
        const m = f64at(mc, c);
        const r = f64at(rc, c);
        let sd: f64 = 0;
        let sdx: f64 = 0;
        for (let o = r0 * C + c; o < r1 * C; o += C) {
          if (mode == 0) {
            const d = f32at(dyb, o);
            sd += d;
            sdx += d * (f32at(xb, o) - m);
          } else {
            const xhat = (f32at(xb, o) - m) * r;
            const z = xhat * gm + bt;
            const sig = mode == 1 ? f32at(gateb, o) : 1 / (1 + expScalar(-z, FRACTION));
            const dz = f32at(dyb, o) * sig * (1 + z * (1 - sig));
            putF32(dxb, o, dz);
            sd += dz;
            sdx += dz * xhat;
          }
        }
        if (mode == 0) sdx *= r;
        putF64(sumDz, c, f64at(sumDz, c) + sd);
        putF64(sumDzXhat, c, f64at(sumDzXhat, c) + sdx);
      }
    }
    for (let c = 0; c < C; c++) {
      putF64(dbetaAcc, c, f64at(dbetaAcc, c) + f64at(sumDz, c));
      putF64(dgammaAcc, c, f64at(dgammaAcc, c) + f64at(sumDzXhat, c));
    }
    for (let g = 0; g < G; g++) {
      let s: f64 = 0;
      let q: f64 = 0;
      for (let c = g * pg; c < (g + 1) * pg; c++) {
        s += f32at(gamma, c) * f64at(sumDz, c);
        q += f32at(gamma, c) * f64at(sumDzXhat, c);
      }
      const m = f32at(meanIn, b * G + g);
      const r = f32at(rstdIn, b * G + g);
      const meanDxhat = s / count;
      const meanDxhatXhat = q / count;
      // dx = r·γ·dz − r·meanDxhat − x̂·r·meanDxhatXhat with x̂ = (x − m)·r, as coefficients of dz, x and 1
      for (let c = g * pg; c < (g + 1) * pg; c++) {
        putF64(coefDz, c, r * f32at(gamma, c));
        putF64(coefX, c, -r * r * meanDxhatXhat);
        putF64(coefOne, c, -r * meanDxhat + r * r * m * meanDxhatXhat);
      }
    }
    // pass 2: dx from dz and x, in place over dz when SiLU put it there
    applyAffine(silu ? dxb : dyb, xb, dxb, coefDz, coefX, coefOne, S, C);
  }
  for (let c = 0; c < C; c++) {
    putF32(dgamma, c, f64at(dgammaAcc, c));
    putF32(dbeta, c, f64at(dbetaAcc, c));
  }
}

// -------------------------------------------------------------------------------------------------- layer norm

/** layer norm over rows of C, as norm-kernels.ts's VsdlabLayerNorm: x → y, mean and rstd per row */
export function layerNorm(x: usize, gamma: usize, beta: usize, y: usize, meanOut: usize, rstdOut: usize, rows: i32, C: i32, eps: f64): void {
  for (let row = 0; row < rows; row++) {
    const o = row * C;
    let s: f64 = 0;
    let q: f64 = 0;
    for (let c = 0; c < C; c++) {
      const v = f32at(x, o + c);
      s += v;
      q += v * v;
    }
    const mean = s / C;
    const rstd = 1 / Math.sqrt(max<f64>(q / C - mean * mean, 0) + eps);
    putF32(meanOut, row, mean);
    putF32(rstdOut, row, rstd);
    const meanV = f64x2.splat(mean);
    const rstdV = f64x2.splat(rstd);
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const at = <usize>(o + c) << 2;
      const v = f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(load2(x + at), meanV), rstdV), load2(gamma + (<usize>c << 2))), load2(beta + (<usize>c << 2)));
      v128.store64_lane(y + at, f32x4.demote_f64x2_zero(v), 0);
    }
    for (; c < C; c++) putF32(y, o + c, (f32at(x, o + c) - mean) * rstd * f32at(gamma, c) + f32at(beta, c));
  }
}

/** the layer norm gradient, as VsdlabLayerNormGrad: dy, x, gamma, mean, rstd → dx, dgamma, dbeta. scratch: 2·C doubles */
export function layerNormGrad(dy: usize, x: usize, gamma: usize, meanIn: usize, rstdIn: usize, dx: usize, dgamma: usize, dbeta: usize, scratch: usize, rows: i32, C: i32): void {
  const dgammaAcc = scratch;
  const dbetaAcc = scratch + (<usize>C << 3);
  memory.fill(scratch, 0, <usize>C << 4);
  for (let row = 0; row < rows; row++) {
    const o = row * C;
    const mean = f32at(meanIn, row);
    const rstd = f32at(rstdIn, row);
    const meanV = f64x2.splat(mean);
    const rstdV = f64x2.splat(rstd);
    // two channels per f64x2 for the per-channel work; the row sums s, q still add lane 0, then lane 1, in order
    let s: f64 = 0;
    let q: f64 = 0;
    let c = 0;
    for (; c + 2 <= C; c += 2) {
      const at = <usize>(o + c) << 2;
      const cc = <usize>c << 3;
      const g = load2(dy + at);
      const xhat = f64x2.mul(f64x2.sub(load2(x + at), meanV), rstdV);
      const dxhat = f64x2.mul(g, load2(gamma + (<usize>c << 2)));
      const dq = f64x2.mul(dxhat, xhat);
      s += f64x2.extract_lane(dxhat, 0);
      q += f64x2.extract_lane(dq, 0);
      s += f64x2.extract_lane(dxhat, 1);
      q += f64x2.extract_lane(dq, 1);
      v128.store(dbetaAcc + cc, f64x2.add(v128.load(dbetaAcc + cc), g));
      v128.store(dgammaAcc + cc, f64x2.add(v128.load(dgammaAcc + cc), f64x2.mul(g, xhat)));
    }
    for (; c < C; c++) {
      const g = f32at(dy, o + c);
      const xhat = (f32at(x, o + c) - mean) * rstd;
      const dxhat = g * f32at(gamma, c);
      s += dxhat;
      q += dxhat * xhat;
      putF64(dbetaAcc, c, f64at(dbetaAcc, c) + g);
      putF64(dgammaAcc, c, f64at(dgammaAcc, c) + g * xhat);
    }
    const meanDxhat = s / C;
    const meanDxhatXhat = q / C;
    const mdV = f64x2.splat(meanDxhat);
    const mdxV = f64x2.splat(meanDxhatXhat);
    c = 0;
    for (; c + 2 <= C; c += 2) {
      const at = <usize>(o + c) << 2;
      const xhat = f64x2.mul(f64x2.sub(load2(x + at), meanV), rstdV);
      const v = f64x2.mul(rstdV, f64x2.sub(f64x2.sub(f64x2.mul(load2(dy + at), load2(gamma + (<usize>c << 2))), mdV), f64x2.mul(xhat, mdxV)));
      v128.store64_lane(dx + at, f32x4.demote_f64x2_zero(v), 0);
    }
    for (; c < C; c++) {
      const xhat = (f32at(x, o + c) - mean) * rstd;
      putF32(dx, o + c, rstd * (f32at(dy, o + c) * f32at(gamma, c) - meanDxhat - xhat * meanDxhatXhat));
    }
  }
  for (let c = 0; c < C; c++) {
    putF32(dgamma, c, f64at(dgammaAcc, c));
    putF32(dbeta, c, f64at(dbetaAcc, c));
  }
}
