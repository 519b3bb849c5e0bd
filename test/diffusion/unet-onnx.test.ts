import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { disposeParams, initUNet, unetDenoiser, unetForward, type UNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { openUNetEngine } from '../../src/diffusion/unet/open-unet-engine.js';
import { engineDenoiser } from '../../src/diffusion/unet/unet-engine.js';
import { ddimSample, guided, scaledLinearSchedule } from '../../src/diffusion/index.js';
import { LORA_TARGET_GROUPS, loraLayersOf, type LoraTargetGroup } from '../../src/diffusion/lora-targets.js';
import { initLora, withLora, type LoraAdapter } from '../../src/nn/lora.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { BadInputError } from '../../src/errors.js';
import { selectBackend } from '../../src/tensor/index.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';

// The ONNX Runtime engine (onnxUNetEngine, synchronous) against unetForward on tfjs's cpu backend (the reference
// every other test uses). Outputs are O(1); the bound is 2e-5 absolute, and each case reports its measured maximum.
const BOUND = 2e-5;

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const sameBits = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** ORT vs tfjs on the same inputs; disposes both and returns the tfjs output's data */
const compare = (ctx: TestContext, what: string, ortOut: tf.Tensor4D, reference: tf.Tensor4D): Float32Array => {
  assert.deepEqual(ortOut.shape, reference.shape, what);
  const [a, b] = [ortOut.dataSync() as Float32Array, reference.dataSync() as Float32Array];
  const d = maxAbsDiff(a, b);
  ctx.diagnostic(`${what}: max |ORT − tfjs| = ${d.toExponential(2)} on outputs up to ${maxAbs(b).toFixed(2)}`);
  assert.ok(maxAbs(b) > 0.05, `${what}: the reference output is not trivially small`);
  assert.ok(d <= BOUND, `${what}: max |ORT − tfjs| = ${d} > ${BOUND}`);
  tf.dispose([ortOut, reference]);
  return b;
};

const randomInputs = (batch: number, h: number, w: number, config: UNetConfig, seed: number): { x: tf.Tensor4D; cond: tf.Tensor3D } => ({
  x: tf.randomNormal([batch, h, w, config.inChannels], 0, 1, 'float32', seed) as tf.Tensor4D,
  cond: tf.randomNormal([batch, 5, config.condDim], 0, 1, 'float32', seed + 1) as tf.Tensor3D,
});

/** gives every B matrix a non-zero value, as after LoRA training */
const trainB = (lora: LoraAdapter, seed: number): void => {
  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.3, 'float32', seed + name.length));
};

const trainedLora = (net: UNet, seed: number, groups: readonly LoraTargetGroup[] = ['q', 'k', 'v', 'out', 'conv']): LoraAdapter => {
  const lora = initLora(net.params, { rank: 4, alpha: 6, targets: loraLayersOf(groups) }, seed);
  trainB(lora, seed);
  return lora;
};

test('unet onnx: the committed teacher (patch 2, v body) equals unetForward, batch 1 and 3, per-sample t; same bits every run', async (t) => {
  await tf.setBackend('cpu');
  const teacher = loadTeacher('models/embedded/teacher');
  // the engine the generate stage opens by name
  const engine = openUNetEngine(teacher.unet, 'onnx');
  assert.equal(engine.name, 'onnx');
  const captions = ['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas', ''];
  const cond = teacher.text.encode(captions);
  const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const ts = [999, 500, 21];
  const first = engine.forward(x, ts, cond);
  const firstData = first.dataSync().slice() as Float32Array;
  compare(t, 'teacher B=3', first, unetForward(teacher.unet, x, ts, cond));
  const again = engine.forward(x, ts, cond);
  assert.ok(sameBits(again.dataSync() as Float32Array, firstData), 'bit-identical run to run');
  const x1 = x.slice([1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const c1 = cond.slice([1, 0, 0], [1, -1, -1]) as tf.Tensor3D;
  compare(t, 'teacher B=1', engine.forward(x1, 250, c1), unetForward(teacher.unet, x1, 250, c1));
  engine.dispose();
  assert.throws(() => engine.forward(x, ts, cond), /after dispose/);
  tf.dispose([x, x1, cond, c1, again, teacher.nullText]);
  disposeParams(teacher.unet.params);
  disposeParams(teacher.text.params);
});

test('unet onnx: the committed teacher with LoRA equals unetForward on the wasm backend (the study workers\' engine)', async (t) => {
  await selectBackend('wasm');
  const teacher = loadTeacher('models/embedded/teacher');
  const lora = trainedLora(teacher.unet, 9);
  const engine = onnxUNetEngine(teacher.unet, { lora: lora.config });
  const cond = tf.concat([teacher.nullText, teacher.text.encode(['a green ring in the centre on a white background'])]) as tf.Tensor3D;
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
  const ts = [640, 640];
  compare(t, 'teacher + LoRA on wasm, B=2', engine.forward(x, ts, cond, lora), unetForward(teacher.unet, x, ts, cond, lora));
  engine.dispose();
  tf.dispose([x, cond, teacher.nullText]);
  disposeParams(lora.params);
  disposeParams(teacher.unet.params);
  disposeParams(teacher.text.params);
  await tf.setBackend('cpu');
});

test('unet onnx: random tiny net (patch 1, eps body), square and non-square inputs, batch 1 and 3', async (t) => {
  await tf.setBackend('cpu');
  const net = initUNet(TINY_UNET, 11);
  const engine = onnxUNetEngine(net);
  for (const [batch, h, w] of [[3, 8, 8], [1, 8, 8], [2, 8, 16], [2, 16, 8]] as const) {
    const { x, cond } = randomInputs(batch, h, w, TINY_UNET, 20 + batch + h);
    const ts = Array.from({ length: batch }, (_, i) => 40 + 300 * i);
    compare(t, `tiny B=${batch} ${h}x${w}`, engine.forward(x, ts, cond), unetForward(net, x, ts, cond));
    tf.dispose([x, cond]);
  }
  engine.dispose();
  disposeParams(net.params);
});

// three levels (two stride-2 downsamplers), attention at the two lower ones, patch 2 with 3 channels (a wrong
// space-to-depth channel order or symmetric padding of the stride-2 convs moves every output)
const PATCHED_V: UNetConfig = { ...TINY_UNET, channelMults: [1, 2, 2], attentionLevels: [false, true, true], patchSize: 2, bodyPredicts: 'v' };

test('unet onnx: patch 2 and v body on random weights, and the patch order matters', async (t) => {
  await tf.setBackend('cpu');
  const net = initUNet(PATCHED_V, 12);
  const engine = onnxUNetEngine(net);
  const { x, cond } = randomInputs(3, 16, 24, PATCHED_V, 31);
  const ts = [990, 400, 1];
  const reference = compare(t, 'patch 2, v body, 16x24', engine.forward(x, ts, cond), unetForward(net, x, ts, cond));
  // the same inputs transposed in space give another output: the test sees the layout, not only the statistics
  const xt = tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D;
  const transposed = engine.forward(xt, ts, cond);
  const back = tf.transpose(transposed, [0, 2, 1, 3]).dataSync() as Float32Array;
  assert.ok(maxAbsDiff(back, reference) > 1e-2, 'a spatially transposed input is not an equivariance of this network');
  tf.dispose([x, cond, xt, transposed]);
  engine.dispose();
  disposeParams(net.params);
});

test('unet onnx: LoRA on q, k, v, out and conv with non-zero B, read at every call; switched off or absent, the base network', async (t) => {
  await tf.setBackend('cpu');
  const net = initUNet(PATCHED_V, 13);
  const lora = initLora(net.params, { rank: 4, alpha: 6, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) }, 5);
  const engine = onnxUNetEngine(net, { lora: lora.config });
  const { x, cond } = randomInputs(3, 16, 16, PATCHED_V, 41);
  const ts = [700, 300, 50];
  const base = unetForward(net, x, ts, cond);
  const baseData = base.dataSync().slice() as Float32Array;
  // B = 0 at init: the adapter computes the base network
  compare(t, 'LoRA at init (B = 0)', engine.forward(x, ts, cond, lora), base.clone());
  // the same engine after a training step: the adapter's weights as they are now, on every adapted layer kind
  trainB(lora, 5);
  const names = Object.keys(lora.params);
  for (const layer of ['conv1', 'to_out', 'to_k', 'to_q', 'to_v']) assert.ok(names.some((n) => n.endsWith(`.${layer}.w.lora_a`)), layer);
  const on = compare(t, 'LoRA on', engine.forward(x, ts, cond, lora), unetForward(net, x, ts, cond, lora));
  assert.ok(maxAbsDiff(on, baseData) > 1e-2, 'the adapter changes the output');
  compare(t, 'adapter.enabled false', withLora(lora, false, () => engine.forward(x, ts, cond, lora)), base.clone());
  compare(t, 'LoRA engine without an adapter', engine.forward(x, ts, cond), base);
  tf.dispose([x, cond]);
  engine.dispose();
  disposeParams(lora.params);
  disposeParams(net.params);
});

test('unet onnx: LoRA on every target group lora-targets.ts names (proj, ff, time too)', async (t) => {
  await tf.setBackend('cpu');
  const net = initUNet(PATCHED_V, 15);
  const lora = trainedLora(net, 7, LORA_TARGET_GROUPS);
  const engine = onnxUNetEngine(net, { lora: lora.config });
  const names = Object.keys(lora.params);
  for (const layer of ['ff.proj', 'ff.out', 'proj_in', 'proj_out', 'time_proj']) assert.ok(names.some((n) => n.endsWith(`.${layer}.w.lora_a`)), layer);
  const { x, cond } = randomInputs(2, 16, 16, PATCHED_V, 61);
  const ts = [800, 100];
  compare(t, 'LoRA on every group', engine.forward(x, ts, cond, lora), unetForward(net, x, ts, cond, lora));
  tf.dispose([x, cond]);
  engine.dispose();
  disposeParams(lora.params);
  disposeParams(net.params);
});

test('unet onnx: a guided 5-step DDIM sample with the engine as the denoiser equals the tfjs one', async (t) => {
  await tf.setBackend('cpu');
  const net = initUNet(PATCHED_V, 16);
  const engine = onnxUNetEngine(net);
  const { x: xT, cond } = randomInputs(2, 16, 16, PATCHED_V, 71);
  const nullCond = tf.zeros([1, 5, PATCHED_V.condDim]);
  const settings = { cond, schedule: scaledLinearSchedule(), steps: 5, xT };
  const reference = ddimSample({ ...settings, model: guided(unetDenoiser(net), { scale: 4.5, nullCond }) }) as tf.Tensor4D;
  const viaOrt = ddimSample({ ...settings, model: guided(engineDenoiser(engine), { scale: 4.5, nullCond }) }) as tf.Tensor4D;
  compare(t, 'guided DDIM, 5 steps, scale 4.5', viaOrt, reference);
  tf.dispose([xT, cond, nullCond]);
  engine.dispose();
  disposeParams(net.params);
});

test('unet onnx: deterministic run to run with LoRA (same bits); a bad input size or weights file is one BadInputError', async () => {
  await tf.setBackend('cpu');
  const net = initUNet(PATCHED_V, 14);
  const lora = trainedLora(net, 6);
  const engine = onnxUNetEngine(net, { lora: lora.config });
  const { x, cond } = randomInputs(4, 16, 16, PATCHED_V, 51);
  const runs = [engine.forward(x, 600, cond, lora), engine.forward(x, 600, cond), engine.forward(x, 600, cond, lora)];
  const [first, frozen, again] = runs.map((r) => r.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array];
  assert.ok(sameBits(first, again), 'bit-identical, with a frozen run between');
  assert.ok(maxAbsDiff(first, frozen) > 1e-2, 'the adapted runs are not the frozen one');
  // weights that do not fit the architecture (a teacher folder's file): one BadInputError before anything runs
  const { 'mid.attn.attn2.to_k.w': toK, ...withoutK } = net.params;
  assert.ok(toK !== undefined);
  const small = randomInputs(1, 16, 16, PATCHED_V, 52);
  const missing = onnxUNetEngine({ config: net.config, params: withoutK });
  assert.throws(() => missing.forward(small.x, 10, small.cond), (e: unknown) => e instanceof BadInputError && /missing weight mid\.attn\.attn2\.to_k\.w/.test(e.message));
  const wrong = tf.variable(tf.zeros([3, 3, 5, 16]));
  const misshapen = onnxUNetEngine({ config: net.config, params: { ...net.params, 'down.0.res.0.conv1.w': wrong } });
  assert.throws(() => misshapen.forward(small.x, 10, small.cond), (e: unknown) => e instanceof BadInputError && /down\.0\.res\.0\.conv1\.w has shape \[3, 3, 5, 16\], the architecture needs \[3, 3, 8, 8\]/.test(e.message));
  wrong.dispose();
  const bad = tf.zeros([1, 12, 16, 3]) as tf.Tensor4D;
  const badCond = tf.zeros([1, 5, PATCHED_V.condDim]) as tf.Tensor3D;
  assert.throws(() => engine.forward(bad, 1, badCond), (e: unknown) => e instanceof BadInputError && /must divide by 8/.test(e.message));
  tf.dispose([x, cond, ...runs, small.x, small.cond, bad, badCond]);
  [engine, missing, misshapen].forEach((e) => e.dispose());
  disposeParams(lora.params);
  disposeParams(net.params);
});
