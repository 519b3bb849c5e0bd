// fast-math.ts's fastExp in AssemblyScript, scalar and on both lanes of an f64x2, for the kernel modules that import
// it (the leading underscore: scripts/build-wasm.js compiles no module of its own from this file). the same double
// operations as the JS exp, so every result has the same bits; the fraction table 2^(j/32) is not recomputed here
// (Math.pow need not round as V8's ** does): `table` points at a copy of fast-math.ts's EXP_FRACTION (32 doubles)
// that the caller wrote; no static data here, so that a module may run in a memory it does not own.
// assembly/norm.ts passes its static table, assembly/activation.ts a block on tfjs's heap.

// fast-math.ts's constants, the same doubles
const LIMIT: f64 = 700;
const LOG2E_SUB: f64 = 32 * Math.LOG2E;
const LN2_HI_SUB: f64 = 6.93147180369123816490e-1 / 32;
const LN2_LO_SUB: f64 = 1.90821492927058770002e-10 / 32;
const ROUND_MAGIC: f64 = 6755399441055744;
const P6: f64 = <f64>1 / <f64>6;
const P24: f64 = <f64>1 / <f64>24;
const P120: f64 = <f64>1 / <f64>120;

/** fastExp: e^x for x clamped to ±700 via 2^k · 2^(j/32) · p(r); NaN stays NaN (trunc_sat maps it to 0 like `| 0`) */
@inline export function expScalar(x: f64, table: usize): f64 {
  const a = min<f64>(max<f64>(x, -LIMIT), LIMIT);
  const kd = a * LOG2E_SUB + ROUND_MAGIC - ROUND_MAGIC;
  const ki = <i32>kd; // i32.trunc_sat_f64_s (nontrapping-f2i is on): NaN → 0
  const r = a - kd * LN2_HI_SUB - kd * LN2_LO_SUB;
  const p = 1 + r * (1 + r * (0.5 + r * (P6 + r * (P24 + r * P120))));
  // 2^(ki >> 5) from its exponent bits: exactly the JS table's 2 ** n (|n| ≤ 1010 here, all normal doubles)
  const pow2 = reinterpret<f64>(<i64>((ki >> 5) + 1023) << 52);
  return p * load<f64>(table + (<usize>(ki & 31) << 3)) * pow2;
}

/**
 * expScalar on both lanes of an f64x2, in the cheapest wasm ops that give the same doubles: the clamp as pmax/pmin
 * (one x86 instruction each; for these bounds they equal Math.max/min, NaN passing through), ki as the low bits of
 * a·L + magic (that sum lies in [2^52, 2^53), where its bits are magic's plus ki) in place of trunc_sat, and
 * 2^(ki >> 5) as exponent bits ((ki + 1023·32) rounded down to a multiple of 32, moved to bit 52). a NaN lane
 * gives garbage indices inside the table and NaN, as in JS.
 */
@inline export function expPair(x: v128, table: usize): v128 {
  const a = f64x2.pmin(f64x2.pmax(x, f64x2.splat(-LIMIT)), f64x2.splat(LIMIT));
  const magic = f64x2.splat(ROUND_MAGIC);
  const t = f64x2.add(f64x2.mul(a, f64x2.splat(LOG2E_SUB)), magic);
  const kd = f64x2.sub(t, magic);
  const r = f64x2.sub(f64x2.sub(a, f64x2.mul(kd, f64x2.splat(LN2_HI_SUB))), f64x2.mul(kd, f64x2.splat(LN2_LO_SUB)));
  let p = f64x2.add(f64x2.splat(P24), f64x2.mul(r, f64x2.splat(P120)));
  p = f64x2.add(f64x2.splat(P6), f64x2.mul(r, p));
  p = f64x2.add(f64x2.splat(0.5), f64x2.mul(r, p));
  p = f64x2.add(f64x2.splat(1), f64x2.mul(r, p));
  p = f64x2.add(f64x2.splat(1), f64x2.mul(r, p));
  const ki = i64x2.sub(t, i64x2.splat(reinterpret<i64>(ROUND_MAGIC)));
  const j = v128.and(ki, i64x2.splat(31));
  let frac = f64x2.splat(load<f64>(table + (<usize>i32x4.extract_lane(j, 0) << 3)));
  frac = f64x2.replace_lane(frac, 1, load<f64>(table + (<usize>i32x4.extract_lane(j, 2) << 3)));
  const pow2 = i64x2.shl(v128.and(i64x2.add(ki, i64x2.splat(1023 * 32)), i64x2.splat(~31)), 47);
  return f64x2.mul(f64x2.mul(p, frac), pow2);
}
