import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { clipByGlobalNorm, dmdGradient, loraLoss, nanToNum, scoreGradient, vsdLoss, weightedScoreGradient } from '../../src/distill/objectives.js';
import { studentX0 } from '../../src/distill/student-output.js';
import { addNoise, velocity } from '../../src/diffusion/parameterization.js';
import { Adam, emaDecay } from '../../src/distill/adam.js';

await tf.setBackend('cpu');
const schedule = scaledLinearSchedule();

test('the VSD loss gradient on x̂0 is w(t)(ε_teacher − ε_lora) / N, as 0.5·mse(x̂0, sg(x̂0 − g)) gives', () => {
  const t = [20, 500, 980];
  const x0 = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 1);
  const teacher = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 2);
  const lora = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 3);
  const g = scoreGradient(schedule, t, teacher, lora);
  const ours = tf.grad((x: tf.Tensor) => vsdLoss(x, () => g))(x0);
  // the official form, with the target held constant
  const target = tf.sub(x0, g);
  const official = tf.grad((x: tf.Tensor) => tf.mul(0.5, tf.mean(tf.square(tf.sub(x, target)))))(x0);
  const expected = tf.div(tf.mul(tf.tensor4d(t.map((ti) => 1 - (schedule.alphasCumprod[ti] as number)), [3, 1, 1, 1]), tf.sub(teacher, lora)), x0.size);
  assert.ok(tf.max(tf.abs(tf.sub(ours, expected))).dataSync()[0]! < 1e-7);
  assert.ok(tf.max(tf.abs(tf.sub(official, expected))).dataSync()[0]! < 1e-7);
  // and the reported value is the official loss value
  const officialValue = tf.mul(0.5, tf.mean(tf.square(tf.sub(x0, target)))).dataSync()[0]!;
  assert.ok(Math.abs(vsdLoss(x0, () => g).dataSync()[0]! - officialValue) < 1e-6);
});

test('nan_to_num as torch: NaN → 0, ±Inf → ±float32 max', () => {
  assert.deepEqual(Array.from(nanToNum(tf.tensor1d([Number.NaN, Infinity, -Infinity, 2])).dataSync()), [0, 3.4028234663852886e38, -3.4028234663852886e38, 2]);
});

// one sample at t = 0 and one at t = 999, each with a unit ε error per pixel
const unitErrors = () => ({ t: [0, 999], pred: tf.tensor4d([1, 1, 1, 1], [2, 1, 1, 2]), noise: tf.zeros([2, 1, 1, 2]), abar: [schedule.alphasCumprod[0]!, schedule.alphasCumprod[999]!] });

test('the LoRA loss weights the ε-MSE by ᾱ_t', () => {
  const { t, pred, noise, abar } = unitErrors();
  const loss = loraLoss(schedule, t, pred, noise).dataSync()[0]!;
  assert.ok(Math.abs(loss - (abar[0]! + abar[1]!) / 2) < 1e-7);
  // the same numbers as SwiftBrush's F.mse_loss(√ᾱ·ε̂, √ᾱ·ε)
  const a = tf.tensor4d(abar.map(Math.sqrt), [2, 1, 1, 1]);
  assert.ok(Math.abs(loss - tf.losses.meanSquaredError(tf.mul(a, noise), tf.mul(a, pred)).dataSync()[0]!) < 1e-7);
});

test('the other LoRA loss weightings: plain ε-MSE (DMD2) and v-MSE = ε-MSE / ᾱ_t (ProlificDreamer)', () => {
  const { t, pred, noise, abar } = unitErrors();
  assert.ok(Math.abs(loraLoss(schedule, t, pred, noise, 'eps').dataSync()[0]! - 1) < 1e-7);
  const v = loraLoss(schedule, t, pred, noise, 'v').dataSync()[0]!;
  assert.ok(Math.abs(v - (1 / abar[0]! + 1 / abar[1]!) / 2) < 1e-6 * v, `${v}`);
  // the v-MSE taken in v space, v = (ε − σ_t·x_t) / α_t for one x_t, as a v-prediction LoRA is trained
  const xt = tf.randomNormal([2, 1, 1, 2], 0, 1, 'float32', 7);
  const alpha = tf.tensor4d(abar.map(Math.sqrt), [2, 1, 1, 1]);
  const sigma = tf.tensor4d(abar.map((x) => Math.sqrt(1 - x)), [2, 1, 1, 1]);
  const toV = (eps: tf.Tensor) => tf.div(tf.sub(eps, tf.mul(sigma, xt)), alpha);
  const inVSpace = tf.losses.meanSquaredError(toV(noise), toV(pred)).dataSync()[0]!;
  assert.ok(Math.abs(v - inVSpace) < 1e-4 * v, `${v} vs ${inVSpace}`);
});

test('student parameterizations map the network output to the image it means at t = 999', () => {
  const x0 = tf.randomNormal([2, 3, 3, 1], 0, 1, 'float32', 4);
  const eps = tf.randomNormal([2, 3, 3, 1], 0, 1, 'float32', 5);
  const z = addNoise(schedule, x0, eps, 999);
  const close = (a: tf.Tensor, b: tf.Tensor): boolean => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-4;
  assert.ok(close(studentX0('eps', schedule, 999, z, eps), x0));
  assert.ok(close(studentX0('x0', schedule, 999, z, x0), x0));
  assert.ok(close(studentX0('v', schedule, 999, z, velocity(schedule, x0, eps, 999)), x0));
});

test('gradient clipping follows torch clip_grad_norm_', () => {
  const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) }, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.ok(Math.abs(grads.a!.dataSync()[0]! - 3 / (5 + 1e-6)) < 1e-6);
  const small = clipByGlobalNorm({ a: tf.tensor1d([0.3]) }, 1);
  assert.equal(small.grads.a!.dataSync()[0], Math.fround(0.3));
});

test('Adam matches torch.optim.Adam on a hand-computed step, and EMA decay follows diffusers', () => {
  const p = { w: tf.variable(tf.tensor1d([1, -2])) };
  const adam = new Adam(0.1);
  adam.apply(p, { w: tf.tensor1d([0.5, -1]) });
  // first step: m̂ = g, v̂ = g², update = lr · g / (|g| + eps)
  const w = p.w.dataSync();
  assert.ok(Math.abs(w[0]! - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-6);
  assert.ok(Math.abs(w[1]! - (-2 + 0.1 * 1 / (1 + 1e-8))) < 1e-6);
  assert.equal(emaDecay(1, 0.9999), 0);
  assert.equal(emaDecay(2, 0.9999), 2 / 11);
  assert.equal(emaDecay(100000, 0.99), 0.99);
});

test('the DMD weighting is DMD2\'s distribution-matching gradient, pointing where SwiftBrush\'s does', () => {
  const t = [20, 500, 980];
  const x0 = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 11);
  const noise = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 12);
  const teacher = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 13);
  const other = tf.randomNormal([3, 4, 4, 2], 0, 1, 'float32', 14);
  const xt = addNoise(schedule, x0, noise, t);
  const g = dmdGradient(schedule, t, x0, xt, teacher, other);
  // DMD2's code: p_real = latents − pred_real_image, p_fake = latents − pred_fake_image,
  // grad = (p_real − p_fake) / |p_real|.mean(dim=[1, 2, 3]), with the x0 predictions from x_t and each ε
  const abar = t.map((ti) => schedule.alphasCumprod[ti]!);
  const a = tf.tensor4d(abar.map(Math.sqrt), [3, 1, 1, 1]);
  const s = tf.tensor4d(abar.map((x) => Math.sqrt(1 - x)), [3, 1, 1, 1]);
  const pReal = tf.sub(x0, tf.div(tf.sub(xt, tf.mul(s, teacher)), a));
  const pFake = tf.sub(x0, tf.div(tf.sub(xt, tf.mul(s, other)), a));
  const expected = tf.div(tf.sub(pReal, pFake), tf.mean(tf.abs(pReal), [1, 2, 3], true));
  const err = tf.max(tf.abs(tf.sub(g, expected))).dataSync()[0]!;
  const size = tf.max(tf.abs(expected)).dataSync()[0]!;
  assert.ok(err < 1e-5 * size, `${err} vs ${size}`);
  // per sample it is a positive multiple of SwiftBrush's w(t)(ε_teacher − ε_other)
  const sb = scoreGradient(schedule, t, teacher, other);
  const cos = tf.div(tf.sum(tf.mul(g, sb), [1, 2, 3]), tf.mul(tf.norm(g.reshape([3, -1]), 2, 1), tf.norm(sb.reshape([3, -1]), 2, 1)));
  for (const c of cos.dataSync()) assert.ok(c > 1 - 1e-5, `cosine ${c}`);
  // and weightedScoreGradient picks each by name
  assert.equal(tf.max(tf.abs(tf.sub(weightedScoreGradient('dmd', schedule, t, x0, xt, teacher, other), g))).dataSync()[0], 0);
  assert.equal(tf.max(tf.abs(tf.sub(weightedScoreGradient('sigma-squared', schedule, t, x0, xt, teacher, other), sb))).dataSync()[0], 0);
});
