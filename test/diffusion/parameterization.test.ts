import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  scaledLinearSchedule,
  addNoise,
  velocity,
  epsToX0,
  x0ToEps,
  vToX0,
  vToEps,
  epsToV,
  x0ToV,
  toEpsAndX0,
  classifierFreeGuidance,
  guided,
  type DenoiserFn,
} from '../../src/diffusion/index.js';

const schedule = scaledLinearSchedule();

const maxDiff = async (a: tf.Tensor, b: tf.Tensor): Promise<number> => {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0] ?? NaN;
  d.dispose();
  return v;
};

test('addNoise, velocity and every ε/x0/v conversion agree, scalar and per-sample t', async () => {
  await tf.setBackend('cpu');
  const x0 = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 1);
  const eps = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 2);
  for (const t of [999, 500, 0, [20, 500, 980]] as const) {
    const xt = addNoise(schedule, x0, eps, t);
    const v = velocity(schedule, x0, eps, t);
    // hand-computed x_t for sample 1 at its timestep
    const t1 = typeof t === 'number' ? t : (t[1] as number);
    const a = schedule.alphasCumprod[t1] as number;
    const want = tf.tidy(() => tf.add(tf.mul(Math.sqrt(a), x0.slice([1], [1])), tf.mul(Math.sqrt(1 - a), eps.slice([1], [1]))));
    assert.ok((await maxDiff(xt.slice([1], [1]), want)) < 1e-6, `x_t at t=${String(t)}`);
    const tol = t === 999 ? 5e-4 : 1e-4; // x0 from ε divides by √ᾱ_999 ≈ 0.068
    assert.ok((await maxDiff(epsToX0(schedule, xt, eps, t), x0)) < tol, 'ε→x0');
    assert.ok((await maxDiff(x0ToEps(schedule, xt, x0, t), eps)) < (t === 0 ? 5e-3 : 1e-4), 'x0→ε'); // divides by σ_0 ≈ 0.029
    assert.ok((await maxDiff(vToX0(schedule, xt, v, t), x0)) < 1e-5, 'v→x0');
    assert.ok((await maxDiff(vToEps(schedule, xt, v, t), eps)) < 1e-5, 'v→ε');
    assert.ok((await maxDiff(epsToV(schedule, xt, eps, t), v)) < tol, 'ε→v');
    assert.ok((await maxDiff(x0ToV(schedule, xt, x0, t), v)) < (t === 0 ? 5e-3 : 1e-4), 'x0→v');
    const both = toEpsAndX0(schedule, 'v_prediction', xt, v, t);
    assert.ok((await maxDiff(both.eps, eps)) < 1e-5 && (await maxDiff(both.x0, x0)) < 1e-5, 'toEpsAndX0(v)');
    tf.dispose([xt, v, want, both.eps, both.x0]);
  }
  assert.throws(() => addNoise(schedule, x0, eps, 1000), /outside \[0, 999\]/);
  assert.throws(() => addNoise(schedule, x0, eps, [1, 2]), /2 timesteps for a batch of 3/);
  // SwiftBrush's student: x0 = (z − √(1−ᾱ_999) ε̂)/√ᾱ_999 with ᾱ_999 ≈ 0.00466
  const z = tf.ones([1, 2]);
  const e = tf.zeros([1, 2]);
  const x = await epsToX0(schedule, z, e, 999).data();
  assert.ok(Math.abs((x[0] ?? NaN) - 1 / Math.sqrt(0.00466)) < 0.01);
  tf.dispose([x0, eps, z, e]);
});

test('classifier-free guidance: formula, one batched call, scale 1 is the conditional model', async () => {
  await tf.setBackend('cpu');
  const calls: number[] = [];
  // a toy model whose output depends on the condition: ε = x·t/1000 + cond
  const model: DenoiserFn<tf.Tensor> = (xt, t, cond) => {
    calls.push(xt.shape[0] ?? 0);
    if (typeof t !== 'number') throw new Error('scalar t');
    return tf.tidy(() => tf.add(tf.mul(xt, t / 1000), cond.reshape([cond.shape[0] ?? 0, 1])));
  };
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const cond = tf.tensor1d([5, 7]);
  const nullCond = tf.tensor1d([0.5]);
  const s = 4.5;
  const out = guided(model, { scale: s, nullCond })(x, 500, cond);
  assert.deepEqual(calls, [4], 'unconditional and conditional halves in one call of batch 2B');
  const u = tf.tidy(() => tf.add(tf.mul(x, 0.5), 0.5));
  const c = tf.tidy(() => tf.add(tf.mul(x, 0.5), cond.reshape([2, 1])));
  const want = tf.tidy(() => tf.add(u, tf.mul(s, tf.sub(c, u))));
  assert.ok((await maxDiff(out, want)) < 1e-5);
  assert.ok((await maxDiff(classifierFreeGuidance(u, c, s), want)) < 1e-6);
  const plain = guided(model, { scale: 1, nullCond })(x, 500, cond);
  assert.ok((await maxDiff(plain, c)) < 1e-6);
  assert.deepEqual(calls, [4, 2]);
  tf.dispose([x, cond, nullCond, out, u, c, want, plain]);
});
