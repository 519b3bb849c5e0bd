// the fused element-wise ops (src/tensor/fused-ops.ts) against the tfjs compositions they replace, side by side
// in one process on the wasm backend (one thread), at the embedded teacher's shapes (patch 2, batch 16).
// CPU time per call, best of several; forward, and forward + backward (the gradients of Σ y·w).
// run: npm run build && node dist/bench/tensor/fused-ops.js
import * as tf from '@tensorflow/tfjs';
import { geglu, gegluReference, groupNorm, groupNormReference, layerNorm, layerNormReference, selectBackend, silu, siluReference } from '../../src/tensor/index.js';

interface Case {
  label: string;
  shape: number[];
  fused: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  composed: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
}

const cases: Case[] = [
  {
    label: 'group norm + SiLU, 16x16x16x32, 8 groups (ResBlock)',
    shape: [16, 16, 16, 32],
    fused: (x, g, b) => groupNorm(x, g, b, 8, { silu: true }),
    composed: (x, g, b) => groupNormReference(x, g, b, 8, { silu: true }),
  },
  {
    label: 'group norm, 16x4x4x32, 8 groups (transformer in)',
    shape: [16, 4, 4, 32],
    fused: (x, g, b) => groupNorm(x, g, b, 8),
    composed: (x, g, b) => groupNormReference(x, g, b, 8),
  },
  { label: 'layer norm, 16x16 tokens x 32', shape: [16, 16, 32], fused: (x, g, b) => layerNorm(x, g, b), composed: (x, g, b) => layerNormReference(x, g, b) },
  { label: 'SiLU, 16x64 (time embedding)', shape: [16, 64], fused: (x) => silu(x), composed: (x) => siluReference(x) },
  { label: 'GEGLU, 16x16 tokens x 256 → 128', shape: [16, 16, 256], fused: (x) => geglu(x), composed: (x) => gegluReference(x) },
];

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const best = (run: () => void): number => {
  for (let i = 0; i < 3; i++) run();
  let b = Infinity;
  const started = performance.now();
  for (let reps = 0; reps < 10 || (performance.now() - started < 500 && reps < 200); reps++) {
    const t0 = cpuSeconds();
    run();
    b = Math.min(b, cpuSeconds() - t0);
  }
  return b;
};

const main = async (): Promise<void> => {
  const info = await selectBackend('wasm');
  console.log(`tfjs ${info.version.tfjs}, wasm ${info.version.backend} (simd ${String(info.details['simd'])}, threads ${String(info.details['threads'])}); CPU µs per call, best of ≥ 10`);
  console.log('| op | fused fwd | composed fwd | fwd speed-up | fused fwd+bwd | composed fwd+bwd | fwd+bwd speed-up | fused ns/element (fwd, fwd+bwd) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const channels = c.shape[c.shape.length - 1] as number;
    const x = tf.randomNormal(c.shape, 0.3, 1.5, 'float32', 1);
    const g = tf.randomNormal([channels], 1, 0.2, 'float32', 2);
    const b = tf.randomNormal([channels], 0, 0.2, 'float32', 3);
    const w = tf.tidy(() => tf.randomNormal(c.fused(x, g, b).shape, 0, 1, 'float32', 4));
    const forward = (op: Case['fused']) => (): void => tf.tidy(() => void op(x, g, b));
    // SiLU and GEGLU take no γ, β: their gradient is with respect to x alone
    const affine = c.label.includes('norm');
    const both = (op: Case['fused']) => (): void =>
      tf.tidy(() => void (affine ? tf.grads((a: tf.Tensor, p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(op(a, p, q), w)))([x, g, b]) : tf.grad((a: tf.Tensor) => tf.sum(tf.mul(op(a, g, b), w)))(x)));
    const [ff, cf, fb, cb] = [best(forward(c.fused)), best(forward(c.composed)), best(both(c.fused)), best(both(c.composed))];
    const us = (s: number): string => (s * 1e6).toFixed(0);
    const ns = (s: number): string => ((s * 1e9) / x.size).toFixed(1);
    console.log(`| ${c.label} | ${us(ff)} | ${us(cf)} | ${(cf / ff).toFixed(1)}× | ${us(fb)} | ${us(cb)} | ${(cb / fb).toFixed(1)}× | ${ns(ff)}, ${ns(fb)} |`);
    tf.dispose([x, g, b, w]);
  }
};

await main();
