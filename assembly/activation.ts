// SiLU, GEGLU and their gradients over float32 arrays, for src/tensor/activation-kernels.ts. every value is
// bit-identical to the JS kernels these replaced: the same double operations in the same order per element (wasm
// f64 is IEEE like JS numbers; no FMA, no reassociation), the same exp (fast-math.ts's table method, its fraction
// table copied in by the caller), one rounding to float32 at the store. SIMD only runs independent elements side
// by side: eight per loop body as four f64x2 (V8 rebuilds every vector constant in each body, so four chains
// sharing them take ≈ 25 % less time than two), then a block of four, then the last 0-3 one at a time. the caller
// lays out all buffers (no allocation here). a NaN comes out where the JS kernels give one; its sign bit is
// defined by neither side (IEEE and wasm leave it open; compilers commute operands).
// the module imports its memory (scripts/build-wasm.js) and has no static data: on the wasm backend it runs in the
// tfjs heap itself, on the tensors' own floats (no copies in and out); elsewhere in a memory of its own. every
// function takes `table`, the address of fast-math.ts's exp fraction table (32 doubles) in that memory.
import { expPair, expScalar } from './_fast-exp';

/** where the module's static data ends (none: 0 or a few bytes; every module exports this) */
export function heapBase(): usize {
  return __heap_base;
}

@inline function f32at(p: usize): f64 {
  return <f64>load<f32>(p);
}

@inline function putF32(p: usize, v: f64): void {
  store<f32>(p, <f32>v);
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

// ------------------------------------------------------------------------------------------------------ SiLU

/** JS: v / (1 + fastExp(-v)) */
@inline function siluPair(v: v128, table: usize): v128 {
  return f64x2.div(v, f64x2.add(f64x2.splat(1), expPair(f64x2.neg(v), table)));
}

/** y = x·σ(x) over n floats */
export function silu(x: usize, y: usize, n: i32, table: usize): void {
  const n8 = n & ~7;
  const n4 = n & ~3;
  for (let i = 0; i < n8; i += 8) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    const v1 = v128.load(x + at, 16);
    store4(y + at, siluPair(lowPair(v), table), siluPair(highPair(v), table));
    store4(y + at + 16, siluPair(lowPair(v1), table), siluPair(highPair(v1), table));
  }
  for (let i = n8; i < n4; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    store4(y + at, siluPair(lowPair(v), table), siluPair(highPair(v), table));
  }
  for (let i = n4; i < n; i++) {
    const at = <usize>i << 2;
    const v = f32at(x + at);
    putF32(y + at, v / (1 + expScalar(-v, table)));
  }
}

/** JS: s = 1 / (1 + fastExp(-v)); dy · s · (1 + v · (1 − s)), left to right */
@inline function siluGradPair(d: v128, v: v128, table: usize): v128 {
  const one = f64x2.splat(1);
  const s = f64x2.div(one, f64x2.add(one, expPair(f64x2.neg(v), table)));
  return f64x2.mul(f64x2.mul(d, s), f64x2.add(one, f64x2.mul(v, f64x2.sub(one, s))));
}

/** dx = dy·σ(x)·(1 + x·(1 − σ(x))) over n floats */
export function siluGrad(dy: usize, x: usize, dx: usize, n: i32, table: usize): void {
  const n8 = n & ~7;
  const n4 = n & ~3;
  for (let i = 0; i < n8; i += 8) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    const d = v128.load(dy + at);
    const v1 = v128.load(x + at, 16);
    const d1 = v128.load(dy + at, 16);
    store4(dx + at, siluGradPair(lowPair(d), lowPair(v), table), siluGradPair(highPair(d), highPair(v), table));
    store4(dx + at + 16, siluGradPair(lowPair(d1), lowPair(v1), table), siluGradPair(highPair(d1), highPair(v1), table));
  }
  for (let i = n8; i < n4; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    const d = v128.load(dy + at);
    store4(dx + at, siluGradPair(lowPair(d), lowPair(v), table), siluGradPair(highPair(d), highPair(v), table));
  }
  for (let i = n4; i < n; i++) {
    const at = <usize>i << 2;
    const v = f32at(x + at);
    const s = 1 / (1 + expScalar(-v, table));
    putF32(dx + at, f32at(dy + at) * s * (1 + v * (1 - s)));
  }
}

// ----------------------------------------------------------------------------------------------------- GEGLU

/** JS: u2 = 2·k·(g + c·g·g·g); (a · g) / (1 + fastExp(−u2)), every product left to right */
@inline function gegluPair(a: v128, g: v128, k: f64, c: f64, table: usize): v128 {
  const cube = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.splat(c), g), g), g);
  const u2 = f64x2.mul(f64x2.mul(f64x2.splat(2), f64x2.splat(k)), f64x2.add(g, cube));
  return f64x2.div(f64x2.mul(a, g), f64x2.add(f64x2.splat(1), expPair(f64x2.neg(u2), table)));
}

/** x [rows, 2D] = [value | gate] → y [rows, D] = value · gelu_tanh(gate); k = √(2/π), c = 0.044715 (fast-math.ts's) */
export function geglu(x: usize, y: usize, rows: i32, D: i32, k: f64, c: f64, table: usize): void {
  const d8 = D & ~7;
  const d4 = D & ~3;
  const rowIn = <usize>D << 3;
  const gateAt = <usize>D << 2;
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>row * rowIn;
    const yr = y + <usize>row * gateAt;
    for (let d = 0; d < d8; d += 8) {
      const at = <usize>d << 2;
      const a = v128.load(xr + at);
      const g = v128.load(xr + gateAt + at);
      const a1 = v128.load(xr + at, 16);
      const g1 = v128.load(xr + gateAt + at, 16);
      store4(yr + at, gegluPair(lowPair(a), lowPair(g), k, c, table), gegluPair(highPair(a), highPair(g), k, c, table));
      store4(yr + at + 16, gegluPair(lowPair(a1), lowPair(g1), k, c, table), gegluPair(highPair(a1), highPair(g1), k, c, table));
    }
    for (let d = d8; d < d4; d += 4) {
      const at = <usize>d << 2;
      const a = v128.load(xr + at);
      const g = v128.load(xr + gateAt + at);
      store4(yr + at, gegluPair(lowPair(a), lowPair(g), k, c, table), gegluPair(highPair(a), highPair(g), k, c, table));
    }
    for (let d = d4; d < D; d++) {
      const at = <usize>d << 2;
      const g = f32at(xr + gateAt + at);
      const u2 = 2 * k * (g + c * g * g * g);
      putF32(yr + at, (f32at(xr + at) * g) / (1 + expScalar(-u2, table)));
    }
  }
}

/** JS: g2 = g·g; s = 1 / (1 + fastExp(−2·k·(g + c·g2·g))), every product left to right */
@inline function gateSigmoid(g: v128, g2: v128, k: f64, c: f64, table: usize): v128 {
  const one = f64x2.splat(1);
  const inner = f64x2.add(g, f64x2.mul(f64x2.mul(f64x2.splat(c), g2), g));
  return f64x2.div(one, f64x2.add(one, expPair(f64x2.mul(f64x2.mul(f64x2.splat(-2), f64x2.splat(k)), inner), table)));
}

/** JS: dGelu = s + g·s·(1 − s)·2·k·(1 + 3·c·g2), left to right */
@inline function geluSlope(g: v128, g2: v128, s: v128, k: f64, c: f64): v128 {
  const one = f64x2.splat(1);
  const t = f64x2.mul(f64x2.mul(f64x2.mul(f64x2.mul(g, s), f64x2.sub(one, s)), f64x2.splat(2)), f64x2.splat(k));
  return f64x2.add(s, f64x2.mul(t, f64x2.add(one, f64x2.mul(f64x2.mul(f64x2.splat(3), f64x2.splat(c)), g2))));
}

/**
 * four elements of the GEGLU gradient from floats at the pointers: the value's gradient dy·g·s (JS: grad * g * s)
 * to dValue, the gate's dy·a·dGelu (JS: grad * x[value] * dGelu) to dGate
 */
@inline function gegluGrad4(dy: usize, value: usize, gate: usize, dValue: usize, dGate: usize, k: f64, c: f64, table: usize): void {
  const grad = v128.load(dy);
  const a = v128.load(value);
  const gv = v128.load(gate);
  const gl = lowPair(gv);
  const gh = highPair(gv);
  const gl2 = f64x2.mul(gl, gl);
  const gh2 = f64x2.mul(gh, gh);
  const sl = gateSigmoid(gl, gl2, k, c, table);
  const sh = gateSigmoid(gh, gh2, k, c, table);
  const dl = lowPair(grad);
  const dh = highPair(grad);
  store4(dValue, f64x2.mul(f64x2.mul(dl, gl), sl), f64x2.mul(f64x2.mul(dh, gh), sh));
  store4(dGate, f64x2.mul(f64x2.mul(dl, lowPair(a)), geluSlope(gl, gl2, sl, k, c)), f64x2.mul(f64x2.mul(dh, highPair(a)), geluSlope(gh, gh2, sh, k, c)));
}

/** dy [rows, D], x [rows, 2D] → dx [rows, 2D]: [dy·gelu(gate) | dy·value·gelu'(gate)] */
export function gegluGrad(dy: usize, x: usize, dx: usize, rows: i32, D: i32, k: f64, c: f64, table: usize): void {
  const d8 = D & ~7;
  const d4 = D & ~3;
  const rowIn = <usize>D << 3;
  const gateAt = <usize>D << 2;
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>row * rowIn;
    const dxr = dx + <usize>row * rowIn;
    const dyr = dy + <usize>row * gateAt;
    for (let d = 0; d < d8; d += 8) {
      const at = <usize>d << 2;
      gegluGrad4(dyr + at, xr + at, xr + gateAt + at, dxr + at, dxr + gateAt + at, k, c, table);
      gegluGrad4(dyr + at + 16, xr + at + 16, xr + gateAt + at + 16, dxr + at + 16, dxr + gateAt + at + 16, k, c, table);
    }
    for (let d = d8; d < d4; d += 4) {
      const at = <usize>d << 2;
      gegluGrad4(dyr + at, xr + at, xr + gateAt + at, dxr + at, dxr + gateAt + at, k, c, table);
    }
    for (let d = d4; d < D; d++) {
      const at = <usize>d << 2;
      const g = f32at(xr + gateAt + at);
      const g2 = g * g;
      const s = 1 / (1 + expScalar(-2 * k * (g + c * g2 * g), table));
      const grad = f32at(dyr + at);
      const dGelu = s + g * s * (1 - s) * 2 * k * (1 + 3 * c * g2);
      putF32(dxr + at, grad * g * s);
      putF32(dxr + gateAt + at, grad * f32at(xr + at) * dGelu);
    }
  }
}
