import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { depthToSpace, spaceToDepth } from '../../src/nn/layers.js';
import {
  initUNet,
  unetForward,
  unetDenoiser,
  parameterCount,
  disposeParams,
  ddimSample,
  guided,
  scaledLinearSchedule,
  type UNetConfig,
} from '../../src/diffusion/index.js';
import { initLora, withLora, loraTargetsOf, SWIFTBRUSH_LORA_TARGETS } from '../../src/nn/lora.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';

const config: UNetConfig = TINY_UNET;

const inputs = (): { x: tf.Tensor4D; cond: tf.Tensor3D } => ({
  x: tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
  cond: tf.randomNormal([2, 5, 12], 0, 1, 'float32', 2) as tf.Tensor3D,
});

const maxAbs = async (a: tf.Tensor, b: tf.Tensor): Promise<number> => {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0] ?? NaN;
  d.dispose();
  return v;
};

test('unet: output shape, dependence on t and text, deterministic init', async () => {
  await tf.setBackend('cpu');
  const net = initUNet(config, 3);
  const again = initUNet(config, 3);
  assert.deepEqual(Object.keys(net.params).sort(), Object.keys(again.params).sort());
  assert.ok(parameterCount(net.params) > 10000);
  assert.ok(Object.keys(net.params).some((k) => k.endsWith('.attn2.to_q.w')), 'cross-attention present');
  const { x, cond } = inputs();
  const y = unetForward(net, x, 500, cond);
  assert.deepEqual(y.shape, [2, 8, 8, 3]);
  assert.equal(await maxAbs(y, unetForward(again, x, 500, cond)), 0, 'same seed, same network');
  assert.ok((await maxAbs(y, unetForward(net, x, 100, cond))) > 1e-3, 'depends on t');
  assert.ok((await maxAbs(y, unetForward(net, x, [500, 501], cond))) > 0, 'per-sample t');
  assert.ok((await maxAbs(y, unetForward(net, x, 500, tf.randomNormal([2, 5, 12], 0, 1, 'float32', 99) as tf.Tensor3D))) > 1e-3, 'depends on the text');
  // cross-attention has no positions: permuting the text tokens changes nothing beyond rounding
  assert.ok((await maxAbs(y, unetForward(net, x, 500, tf.reverse(cond, 1) as tf.Tensor3D))) < 1e-5, 'token order is irrelevant');
  assert.throws(() => unetForward(net, tf.zeros([1, 7, 8, 3]) as tf.Tensor4D, 1, tf.zeros([1, 5, 12]) as tf.Tensor3D), /must divide by 2/);
  assert.throws(() => initUNet({ ...config, groups: 3 }, 1), /not divisible by 3 groups/);
  // the default init zeroes residual closers and the output: a fresh network predicts exactly zero
  const zeroed = initUNet({ ...config, zeroInit: true }, 3);
  assert.equal((await unetForward(zeroed, x, 500, cond).abs().max().data())[0], 0);
  disposeParams(again.params);
  disposeParams(zeroed.params);
  disposeParams(net.params);
});

test('lora on q and v: off is exactly the base network, on changes it, fresh adapters change nothing', async () => {
  await tf.setBackend('cpu');
  const net = initUNet(config, 5);
  const { x, cond } = inputs();
  const lora = initLora(net.params, { rank: 4, alpha: 6.75, targets: SWIFTBRUSH_LORA_TARGETS }, 9);
  const targets = loraTargetsOf(net.params, lora.config);
  assert.ok(targets.length >= 8 && targets.every((n) => /\.to_[qv]\.w$/.test(n)), targets.join(','));
  const base = unetForward(net, x, 300, cond);
  assert.equal(await maxAbs(unetForward(net, x, 300, cond, lora), base), 0, 'B = 0: no change');
  // give the adapters a non-zero B, as after training
  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.3, 'float32', 4));
  const adapted = unetForward(net, x, 300, cond, lora);
  assert.ok((await maxAbs(adapted, base)) > 1e-3, 'adapters on change the output');
  const off = withLora(lora, false, () => unetForward(net, x, 300, cond, lora));
  assert.equal(await maxAbs(off, base), 0, 'adapters off == base network, exactly');
  assert.equal(lora.enabled, true, 'withLora restores the state');
  disposeParams(lora.params);
  disposeParams(net.params);
});

test('unet gradients on wasm (routed kernels) match the cpu backend, LoRA-only training leaves the base untouched', async () => {
  const net = initUNet(config, 7);
  const lora = initLora(net.params, { rank: 2, alpha: 2, targets: SWIFTBRUSH_LORA_TARGETS }, 1);
  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.3, 'float32', 8));
  const xData = await tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 11).data();
  const cData = await tf.randomNormal([2, 5, 12], 0, 1, 'float32', 12).data();
  const gradsOn = async (backend: 'cpu' | 'wasm'): Promise<Record<string, Float32Array>> => {
    if (backend === 'wasm') await selectBackend('wasm');
    else await tf.setBackend('cpu');
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => unetForward(net, tf.tensor4d(xData, [2, 8, 8, 3]), [10, 900], tf.tensor3d(cData, [2, 5, 12]), lora).square().mean() as tf.Scalar),
    );
    const out: Record<string, Float32Array> = {};
    for (const [name, g] of Object.entries(grads)) out[name] = (await g.data()) as Float32Array;
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  const cpu = await gradsOn('cpu');
  const wasm = await gradsOn('wasm');
  const names = Object.keys(cpu);
  assert.equal(names.length, Object.keys(net.params).length + Object.keys(lora.params).length, 'every weight gets a gradient');
  let worst = 0;
  for (const name of names) {
    const a = cpu[name] as Float32Array;
    const b = wasm[name] as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i] as number));
      diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    }
    assert.ok(scale > 0, `${name} has a zero gradient`);
    worst = Math.max(worst, diff / scale);
  }
  assert.ok(worst < 2e-3, `worst relative gradient difference cpu vs wasm ${worst}`);
  // training only the adapters: gradients restricted to the LoRA variables
  const loraOnly = tf.variableGrads(
    () => tf.tidy(() => unetForward(net, tf.tensor4d(xData, [2, 8, 8, 3]), 500, tf.tensor3d(cData, [2, 5, 12]), lora).square().mean() as tf.Scalar),
    Object.values(lora.params),
  );
  // variableGrads keys by tfjs' own variable names
  assert.deepEqual(Object.keys(loraOnly.grads).sort(), Object.values(lora.params).map((v) => v.name).sort());
  tf.dispose([loraOnly.value, ...Object.values(loraOnly.grads)]);
  disposeParams(lora.params);
  disposeParams(net.params);
});

test('unet plugs into the samplers with classifier-free guidance', async () => {
  await tf.setBackend('cpu');
  const net = initUNet(config, 2);
  const xT = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 3);
  const cond = tf.randomNormal([1, 5, 12], 0, 1, 'float32', 4);
  const model = guided(unetDenoiser(net), { scale: 4.5, nullCond: tf.zeros([1, 5, 12]) });
  const out = ddimSample({ model, cond, schedule: scaledLinearSchedule(), steps: 3, xT });
  assert.deepEqual(out.shape, [1, 8, 8, 3]);
  assert.ok(Number.isFinite((await out.sum().data())[0]));
  tf.dispose([xT, cond, out]);
  disposeParams(net.params);
});

test('a few Adam steps on wasm lower the ε-prediction loss of a fixed batch', async () => {
  await selectBackend('wasm');
  const net = initUNet({ ...config, zeroInit: true }, 4);
  const schedule = scaledLinearSchedule();
  const x0 = tf.tidy(() => tf.randomUniform([4, 8, 8, 3], -1, 1, 'float32', 5).round().mul(0.8)) as tf.Tensor4D;
  const noise = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 6);
  const cond = tf.randomNormal([4, 5, 12], 0, 1, 'float32', 7) as tf.Tensor3D;
  const t = [100, 300, 600, 900];
  const xt = tf.tidy(() => {
    const a = tf.tensor(t.map((ti) => Math.sqrt(schedule.alphasCumprod[ti] as number)), [4, 1, 1, 1]);
    const s = tf.tensor(t.map((ti) => Math.sqrt(1 - (schedule.alphasCumprod[ti] as number))), [4, 1, 1, 1]);
    return tf.add(tf.mul(a, x0), tf.mul(s, noise));
  }) as tf.Tensor4D;
  const loss = (): tf.Scalar => tf.tidy(() => tf.losses.meanSquaredError(noise, unetForward(net, xt, t, cond)) as tf.Scalar);
  const first = (await loss().data())[0] ?? NaN;
  const optimizer = tf.train.adam(3e-3);
  for (let i = 0; i < 15; i++) optimizer.minimize(loss, false, Object.values(net.params));
  const last = (await loss().data())[0] ?? NaN;
  assert.ok(last < 0.8 * first, `loss ${first} -> ${last}`);
  optimizer.dispose();
  tf.dispose([x0, noise, cond, xt]);
  disposeParams(net.params);
});

test('patch 2: space-to-depth folds 2×2 pixels into channels (torch pixel_unshuffle order), the UNet runs at half the side and learns through it', async () => {
  await tf.setBackend('cpu');
  const x = tf.range(0, 2 * 4 * 6 * 3).reshape([2, 4, 6, 3]) as tf.Tensor4D;
  const folded = spaceToDepth(x, 2);
  assert.deepEqual(folded.shape, [2, 2, 3, 12]);
  // first output pixel: input (0,0),(0,1),(1,0),(1,1), three channels each
  assert.deepEqual(Array.from(await folded.slice([0, 0, 0, 0], [1, 1, 1, 12]).data()), [0, 1, 2, 3, 4, 5, 18, 19, 20, 21, 22, 23]);
  assert.equal(await maxAbs(depthToSpace(folded, 2), x), 0);
  const patched = initUNet({ ...config, patchSize: 2 }, 3);
  const { x: input, cond } = inputs();
  assert.deepEqual(unetForward(patched, input, 500, cond).shape, [2, 8, 8, 3]);
  assert.deepEqual(patched.params['conv_in.w']?.shape, [3, 3, 12, 8]);
  assert.throws(() => unetForward(patched, tf.zeros([1, 6, 6, 3]) as tf.Tensor4D, 1, tf.zeros([1, 5, 12]) as tf.Tensor3D), /must divide by 4 \(patch 2/);
  // every weight, the ones before the fold and after the unfold included, gets a gradient
  const grads = tf.variableGrads(() => tf.mean(tf.square(unetForward(patched, input, 500, cond))) as tf.Scalar, Object.values(patched.params));
  for (const name of ['conv_in.w', 'conv_out.w', 'down.0.res.0.conv1.w']) {
    const g = grads.grads[patched.params[name]?.name ?? ''];
    assert.ok(g !== undefined && ((await tf.max(tf.abs(g)).data())[0] ?? 0) > 0, `${name} has a gradient`);
  }
  disposeParams(patched.params);
});

test('a v body answers ε = σ_t x_t + α_t v̂: zero-initialised it returns σ_t x_t per sample, and ε from a v body matches the conversion', async () => {
  await tf.setBackend('cpu');
  const { x, cond } = inputs();
  const zeroed = initUNet({ ...config, zeroInit: true, bodyPredicts: 'v' }, 3);
  const ts = [999, 10];
  const eps = unetForward(zeroed, x, ts, cond);
  const s = scaledLinearSchedule();
  const expected = tf.concat(ts.map((t, i) => tf.mul(x.slice([i, 0, 0, 0], [1, -1, -1, -1]), Math.sqrt(1 - (s.alphasCumprod[t] as number)))));
  assert.ok((await maxAbs(eps, expected)) < 1e-6, 'zero body: ε̂ = σ_t x_t');
  // same weights, body read raw (eps) vs as v: ε_v = σ x + α · body
  const body = initUNet(config, 5);
  const asV = { config: { ...config, bodyPredicts: 'v' as const }, params: body.params };
  const raw = unetForward(body, x, 500, cond);
  const { alpha, sigma } = { alpha: Math.sqrt(s.alphasCumprod[500] as number), sigma: Math.sqrt(1 - (s.alphasCumprod[500] as number)) };
  assert.ok((await maxAbs(unetForward(asV, x, 500, cond), tf.add(tf.mul(x, sigma), tf.mul(raw, alpha)))) < 1e-5);
  assert.throws(() => initUNet({ ...config, bodyPredicts: 'x0' as 'v' }, 1), /bodyPredicts must be eps or v/);
  disposeParams(zeroed.params);
  disposeParams(body.params);
});
