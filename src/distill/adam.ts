import * as tf from '@tensorflow/tfjs';

/**
 * torch.optim.Adam, step for step: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − lr · m̂ / (√v̂ + ε) with
 * bias-corrected m̂, v̂, and weight decay added to the gradient (L2, as torch's Adam, not AdamW). The state is
 * keyed by parameter name, so a checkpoint restores it in any process (tfjs' own optimiser keys by the
 * process-global variable name).
 */
export class Adam {
  step = 0;
  readonly m = new Map<string, tf.Tensor>();
  readonly v = new Map<string, tf.Tensor>();

  constructor(
    // mutable so a caller can follow a learning-rate schedule step by step
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
    readonly weightDecay = 0,
  ) {}

  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    this.step += 1;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    for (const name of Object.keys(grads).sort()) {
      const p = params[name];
      const g0 = grads[name];
      if (!p || !g0) throw new Error(`adam: no parameter ${name}`);
      const [m, v] = tf.tidy(() => {
        const g = this.weightDecay > 0 ? tf.add(g0, tf.mul(p, this.weightDecay)) : g0;
        const mPrev = this.m.get(name) ?? tf.zerosLike(p);
        const vPrev = this.v.get(name) ?? tf.zerosLike(p);
        const mNext = tf.add(tf.mul(mPrev, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNext = tf.add(tf.mul(vPrev, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        p.assign(tf.sub(p, tf.div(tf.mul(mNext, this.lr / c1), tf.add(tf.sqrt(tf.div(vNext, c2)), this.eps))));
        return [mNext, vNext];
      });
      this.m.get(name)?.dispose();
      this.v.get(name)?.dispose();
      this.m.set(name, tf.keep(m));
      this.v.set(name, tf.keep(v));
    }
  }

  /** state as named tensors (`<param>/m`, `<param>/v`) plus the step, for a checkpoint */
  state(prefix: string): { tensors: Record<string, tf.Tensor>; step: number } {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, t] of this.m) tensors[`${prefix}${k}/m`] = t;
    for (const [k, t] of this.v) tensors[`${prefix}${k}/v`] = t;
    return { tensors, step: this.step };
  }

  restore(prefix: string, tensors: Record<string, tf.Tensor>, step: number): void {
    this.step = step;
    for (const [name, t] of Object.entries(tensors)) {
      if (!name.startsWith(prefix)) continue;
      const key = name.slice(prefix.length, -2);
      (name.endsWith('/m') ? this.m : this.v).set(key, tf.keep(t.clone()));
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** diffusers' EMAModel default decay at an optimisation step: min((1 + s) / (10 + s), max), s = step − 1. */
export function emaDecay(optimizationStep: number, maxDecay: number): number {
  const s = optimizationStep - 1;
  if (s <= 0) return 0;
  return Math.min((1 + s) / (10 + s), maxDecay);
}

export function emaUpdate(ema: Record<string, tf.Variable>, params: Record<string, tf.Variable>, decay: number): void {
  for (const [name, e] of Object.entries(ema)) {
    const p = params[name];
    if (!p) throw new Error(`ema: no parameter ${name}`);
    tf.tidy(() => e.assign(tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay))));
  }
}
