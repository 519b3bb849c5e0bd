import * as tf from '@tensorflow/tfjs';
import type { FloatStorage } from '../tensor/float-storage.js';
import type { Adam } from './adam.js';
import { adamWasm, emaWasm, squareSumWasm, type AdamScalars } from './optimizer-wasm.js';

// clipping, Adam and EMA as one JS pass per parameter tensor over the tensors' own float32 storage, bit for bit
// what the op sequences of clipByGlobalNorm, Adam.apply and emaUpdate compute: each tfjs element-wise op is one
// IEEE float32 operation, so every op is emulated by the double operation rounded with Math.fround (for + − × ÷
// and √ of float32 operands, double rounding to float32 equals float32 arithmetic), in the ops' order, with the
// scalars as the ops see them: a JS number becomes a float32 scalar tensor, so it is rounded once, after any
// double arithmetic on it (`lr / c1`, `1 - beta1`). On the wasm backend the same float32 ops run in WebAssembly,
// in place on tfjs's heap (optimizer-wasm.ts: f32x4, the same bits); the cpu backend keeps these JS loops.

const f = Math.fround;

/**
 * Σ g² of one tensor as tf.sum(tf.square(g)) returns it: the wasm Sum kernel adds the float32 squares one by one
 * into a float32 accumulator (tfjs-backend-wasm src/cc/kernels/Sum.cc); the cpu one adds them in double and
 * rounds the total once (tfjs-backend-cpu kernels/Sum.ts).
 */
export function squareSum(g: Float32Array, kind: FloatStorage['kind']): number {
  if (kind === 'wasm') return squareSumWasm(g);
  let acc = 0;
  for (let i = 0; i < g.length; i++) {
    const x = g[i] as number;
    acc += f(x * x);
  }
  return f(acc);
}

/** the global norm as globalNormByOps computes it: the per-tensor float32 sums added in double, in key order */
export function fusedGlobalNorm(s: FloatStorage, grads: Record<string, tf.Tensor>): number {
  let total = 0;
  for (const g of Object.values(grads)) total += squareSum(s.view(g), s.kind);
  return Math.sqrt(total);
}

export interface EmaTarget {
  params: Record<string, tf.Variable>;
  decay: number;
}

const sameShape = (a: tf.Tensor, b: tf.Tensor, what: string): void => {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${what}: shape [${a.shape.join(', ')}] does not match [${b.shape.join(', ')}]`);
  }
};

/**
 * the tensor to write an Adam moment's new values into: itself when nothing else shares its buffer, else a new
 * one. Parameters and their EMA always get a new buffer: wasm's conv and matMul kernels keep xnnpack operators
 * with the weights packed inside, cached by the weight tensor's id until that id is disposed, so weights written
 * in place would go unseen by the next forward.
 */
const target = (s: FloatStorage, t: tf.Tensor): tf.Tensor => (s.writable(t) ? t : s.allocate(t.shape));

/** makes `out` the variable's value */
const publish = (v: tf.Variable, out: tf.Tensor): void => {
  v.assign(out);
  out.dispose(); // the variable holds the only reference
};

/** makes `out` the state tensor under `name` (kept out of any tidy scope), disposing the one it replaces */
const publishState = (state: Map<string, tf.Tensor>, name: string, prev: tf.Tensor | undefined, out: tf.Tensor): void => {
  if (out === prev) return;
  prev?.dispose();
  state.set(name, tf.keep(out));
};

/** Adam.apply's ops on one tensor's elements: p, m, v from pv, mv, vv into pw, mw, vw (mv may be mw, vv vw) */
function adamElements(k: AdamScalars, gv: Float32Array, pv: Float32Array, pw: Float32Array, mv: Float32Array, mw: Float32Array, vv: Float32Array, vw: Float32Array): void {
  const { scale, scaled, wd, decayed, b1, g1, b2, g2, rate, bc2, eps } = k;
  for (let i = 0; i < gv.length; i++) {
    const pi = pv[i] as number;
    let gi = gv[i] as number;
    if (scaled) gi = f(gi * scale); // scaleGradients: tf.mul(g, coef)
    if (decayed) gi = f(gi + f(pi * wd)); // tf.add(g, tf.mul(p, weightDecay))
    const mi = f(f((mv[i] as number) * b1) + f(gi * g1));
    const vi = f(f((vv[i] as number) * b2) + f(f(gi * gi) * g2));
    mw[i] = mi;
    vw[i] = vi;
    pw[i] = f(pi - f(f(mi * rate) / f(f(Math.sqrt(f(vi / bc2))) + eps)));
  }
}

/** emaUpdate's ops on one tensor's elements: tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay)) into ew */
function emaElements(ev: Float32Array, pv: Float32Array, ew: Float32Array, decay: number, rest: number): void {
  for (let i = 0; i < ev.length; i++) ew[i] = f(f((ev[i] as number) * decay) + f((pv[i] as number) * rest));
}

/**
 * One Adam step (with the gradients first scaled by `clip` when given) and then the EMA of every parameter in
 * `ema`, equal bit for bit to scaleGradients + Adam.apply + emaUpdate on the same backend. No tfjs op runs;
 * the Adam moments are written in place where they own their buffer.
 */
export function fusedAdamStep(adam: Adam, s: FloatStorage, params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, clip: number | undefined, ema?: EmaTarget): void {
  adam.step += 1;
  const c1 = 1 - adam.beta1 ** adam.step;
  const c2 = 1 - adam.beta2 ** adam.step;
  // the scalars exactly as the op sequence's scalar tensors hold them
  const k: AdamScalars = {
    scale: clip === undefined ? 1 : f(clip),
    scaled: clip !== undefined,
    wd: f(adam.weightDecay),
    decayed: adam.weightDecay > 0,
    b1: f(adam.beta1),
    g1: f(1 - adam.beta1),
    b2: f(adam.beta2),
    g2: f(1 - adam.beta2),
    rate: f(adam.lr / c1),
    bc2: f(c2),
    eps: f(adam.eps),
  };
  const ed = f(ema?.decay ?? 0);
  const ep = f(1 - (ema?.decay ?? 0));

  for (const name of Object.keys(grads).sort()) {
    const p = params[name];
    const g = grads[name];
    if (!p || !g) throw new Error(`adam: no parameter ${name}`);
    sameShape(g, p, `adam: gradient of ${name}`);
    const mPrev = adam.m.get(name);
    const vPrev = adam.v.get(name);
    if (mPrev) sameShape(mPrev, p, `adam: first moment of ${name}`);
    if (vPrev) sameShape(vPrev, p, `adam: second moment of ${name}`);
    const e = ema?.params[name];
    if (e) sameShape(e, p, `ema: ${name}`);
    // every allocation before the first view: a growing wasm heap detaches views taken earlier
    const pOut = s.allocate(p.shape);
    const mOut = mPrev ? target(s, mPrev) : s.allocate(p.shape);
    const vOut = vPrev ? target(s, vPrev) : s.allocate(p.shape);
    const eOut = e ? s.allocate(e.shape) : undefined;
    const gv = s.view(g);
    const pv = s.view(p);
    const pw = s.view(pOut);
    const mw = s.view(mOut);
    const vw = s.view(vOut);
    // a first step's moments are tf.zerosLike(p)
    const mv = mPrev ? s.view(mPrev) : mw.fill(0);
    const vv = vPrev ? s.view(vPrev) : vw.fill(0);
    if (s.kind === 'wasm') {
      adamWasm(k, gv, pv, pw, mv, mw, vv, vw, e && eOut ? { from: s.view(e), to: s.view(eOut), decay: ed, rest: ep } : undefined);
    } else {
      adamElements(k, gv, pv, pw, mv, mw, vv, vw);
      if (e && eOut) emaElements(s.view(e), pw, s.view(eOut), ed, ep);
    }
    publish(p, pOut);
    publishState(adam.m, name, mPrev, mOut);
    publishState(adam.v, name, vPrev, vOut);
    if (e && eOut) publish(e, eOut);
  }

  // EMA of the parameters that had no gradient (emaUpdate averages every EMA entry)
  if (!ema) return;
  for (const [name, e] of Object.entries(ema.params)) {
    if (grads[name]) continue;
    const p = params[name];
    if (!p) throw new Error(`ema: no parameter ${name}`);
    sameShape(e, p, `ema: ${name}`);
    const eOut = s.allocate(e.shape);
    (s.kind === 'wasm' ? emaWasm : emaElements)(s.view(e), s.view(p), s.view(eOut), ed, ep);
    publish(e, eOut);
  }
}
