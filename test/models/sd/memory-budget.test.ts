// The memory budget (issue 16) against the engine's own accounting on the tiny diffusers UNet: the tape the model
// predicts equals, byte for byte, what tfjs's tape saves (plain, checkpointed, sliced attention, LoRA), the predicted
// peak is within 20 % of the backend's buffer peak, and the parameter counts are the UNet's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import { registerLayerKernels, unregisterLayerKernels } from '../../../src/tensor/layer-kernels.js';
import { tapeSavedBytes } from '../../../src/tensor/tape.js';
import { measureBufferPeak } from '../../../src/tensor/buffer-peak.js';
import { sdUNetForward, type UNetForwardOptions } from '../../../src/models/sd/unet.js';
import { unetForwardPeakBytes, unetTapeBytes } from '../../../src/models/sd/unet-tape.js';
import { loraParameterCount, memoryBudget, unetParameterCount, unetWeightShapes } from '../../../src/models/sd/memory-budget.js';
import { parseUNetConfig } from '../../../src/models/sd/unet-config.js';
import { initLora, type LoraAdapter } from '../../../src/nn/lora.js';
import { tinyInputs, tinyUNet, type TinyUNet } from './tiny-unet.js';
import { UNET } from './sd-folder.js';

/** the tape's saved bytes after the forward, and the buffer peak of forward + backward w.r.t. every weight */
function measure(unet: TinyUNet, lora: LoraAdapter | undefined, batch: number, size: number, options: UNetForwardOptions): { tape: number; peak: number } {
  const inputs = tinyInputs(unet.config, batch, size);
  const vars = [...Object.values(unet.weights.params), ...Object.values(lora?.params ?? {})];
  const weightIds = new Set(vars.map((v) => v.dataId));
  let tape = -1;
  const { peak } = measureBufferPeak(() => {
    const { grads } = tf.variableGrads(() => {
      const eps = sdUNetForward({ weights: unet.weights, lora }, unet.config, inputs.sample, Array.from({ length: batch }, (_, i) => 999 - i), inputs.context, options);
      tape = tapeSavedBytes(weightIds);
      return tf.sum(tf.mul(eps, inputs.r)) as tf.Scalar;
    }, vars);
    tf.dispose(Object.values(grads));
  });
  tf.dispose(Object.values(inputs));
  return { tape, peak };
}

const CASES: Array<[number, number, UNetForwardOptions]> = [
  [1, 8, {}],
  [2, 16, {}],
  [2, 16, { checkpoint: true }],
  [2, 16, { attentionSlice: 2 }],
  [1, 16, { checkpoint: true, attentionSlice: 1 }],
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`the tape model equals the tape tfjs keeps on ${backend}, byte for byte; the peak model is within 20 % of the buffer peak`, async (t) => {
    await selectBackend(backend);
    const unet = tinyUNet();
    const warm = tinyInputs(unet.config, 1, 8);
    sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
    tf.dispose(Object.values(warm));
    const weightBytes = Object.values(unet.weights.params).reduce((s, v) => s + v.size * 4, 0);
    for (const [batch, size, options] of CASES) {
      const measured = measure(unet, undefined, batch, size, options);
      const model = unetTapeBytes(unet.config, { batch, height: size, width: size, tokens: 77, options });
      const what = `batch ${batch}, ${size}×${size}, ${JSON.stringify(options)}`;
      assert.equal(model.saved, measured.tape, `${what}: tape bytes`);
      // the peak: the tape, the backward's gradient buffers, the weights' gradients, a recomputed segment
      const predicted = model.saved + model.gradients + model.segmentPeak + weightBytes;
      t.diagnostic(`${what}: tape ${measured.tape}, peak ${measured.peak}, predicted ${predicted} (${(predicted / measured.peak).toFixed(3)})`);
      assert.ok(Math.abs(predicted / measured.peak - 1) < 0.2, `${what}: predicted peak ${predicted} vs measured ${measured.peak}`);
    }
    // checkpointing keeps far less: the acceptance's "lowers the measured peak"
    const plain = measure(unet, undefined, 2, 16, {});
    const ckpt = measure(unet, undefined, 2, 16, { checkpoint: true });
    assert.ok(ckpt.peak < plain.peak / 3 && ckpt.tape < plain.tape / 10, `checkpointed peak ${ckpt.peak} vs plain ${plain.peak}`);
    unet.dispose();
  });
}

test('a forward without a tape (the teacher passes) frees each block\'s intermediates: its buffer peak, and the model of it', async (t) => {
  await selectBackend('wasm');
  const unet = tinyUNet();
  for (const [batch, size, slice] of [[4, 16, undefined], [4, 32, undefined], [4, 32, 1]] as const) {
    const inputs = tinyInputs(unet.config, batch, size);
    const run = (): void => sdUNetForward({ weights: unet.weights }, unet.config, inputs.sample, [999], inputs.context, { attentionSlice: slice }).dispose();
    run();
    const { peak } = measureBufferPeak(run);
    const model = unetForwardPeakBytes(unet.config, { batch, height: size, width: size, tokens: 77, options: { attentionSlice: slice } });
    t.diagnostic(`batch ${batch}, ${size}×${size}, slice ${slice}: buffer peak ${peak}, model ${model} (${(model / peak).toFixed(2)})`);
    // the model leaves out the kernels' own scratch (wasm's batched matMul holds each product and their concatenation)
    assert.ok(model / peak > 0.5 && model / peak < 1.3, `forward peak ${peak}, model ${model}`);
    // every activation at once would be several times more: the block scopes free them
    const all = unetTapeBytes(unet.config, { batch, height: size, width: size, tokens: 77 }).saved;
    assert.ok(peak < all, `forward peak ${peak} below the whole tape ${all}`);
    tf.dispose(Object.values(inputs));
  }
  unet.dispose();
});

test('the tape model with a LoRA adapter on to_q, to_v and conv1 (plain and checkpointed) equals the engine\'s', async () => {
  await selectBackend('wasm');
  const unet = tinyUNet();
  const warm = tinyInputs(unet.config, 1, 8);
  sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
  tf.dispose(Object.values(warm));
  const targets = ['to_q', 'to_v', 'conv1'];
  const lora = initLora(unet.weights.params, { rank: 2, alpha: 3, targets }, 5);
  assert.equal(Object.values(lora.params).reduce((s, p) => s + p.size, 0), loraParameterCount(unet.config, { rank: 2, targets }));
  for (const options of [{}, { checkpoint: true }]) {
    const model = unetTapeBytes(unet.config, { batch: 2, height: 8, width: 8, tokens: 77, options, lora: { rank: 2, targets } });
    assert.equal(model.saved, measure(unet, lora, 2, 8, options).tape, JSON.stringify(options));
  }
  tf.dispose(Object.values(lora.params));
  unet.dispose();
});

test('on the op chains (backends without the layer kernels) the tape model equals the engine\'s too, plain and with LoRA', async () => {
  await selectBackend('wasm');
  const unet = tinyUNet();
  const warm = tinyInputs(unet.config, 1, 8);
  sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
  tf.dispose(Object.values(warm));
  const targets = ['to_q', 'to_v', 'conv1'];
  const lora = initLora(unet.weights.params, { rank: 2, alpha: 3, targets }, 5);
  unregisterLayerKernels('wasm');
  try {
    for (const options of [{}, { checkpoint: true }]) {
      const plain = unetTapeBytes(unet.config, { batch: 1, height: 8, width: 8, tokens: 77, options, layerKernels: false });
      assert.equal(plain.saved, measure(unet, undefined, 1, 8, options).tape, `plain ${JSON.stringify(options)}`);
      const adapted = unetTapeBytes(unet.config, { batch: 2, height: 8, width: 8, tokens: 77, options, lora: { rank: 2, targets }, layerKernels: false });
      assert.equal(adapted.saved, measure(unet, lora, 2, 8, options).tape, `LoRA ${JSON.stringify(options)}`);
    }
    // and the layer kernels keep less: the chains' Add and Reshape nodes kept the products' outputs as well
    assert.ok(unetTapeBytes(unet.config, { batch: 1, height: 8, width: 8, tokens: 77, layerKernels: true }).saved < unetTapeBytes(unet.config, { batch: 1, height: 8, width: 8, tokens: 77, layerKernels: false }).saved);
  } finally {
    registerLayerKernels('wasm');
    tf.dispose(Object.values(lora.params));
    unet.dispose();
  }
});

test('parameter counts: the tiny UNet\'s file, SD 2.1-base\'s 865,910,724, and the budget\'s items', () => {
  const unet = tinyUNet();
  const warm = tinyInputs(unet.config, 1, 8);
  sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
  tf.dispose(Object.values(warm));
  const shapes = unetWeightShapes(unet.config);
  assert.deepEqual([...shapes.keys()].sort(), Object.keys(unet.weights.params).sort(), 'the same weight names as the forward reads');
  for (const [name, v] of Object.entries(unet.weights.params)) assert.deepEqual(shapes.get(name), v.shape, name);
  assert.equal(unetParameterCount(unet.config), 71500);
  unet.dispose();
  const sd21 = parseUNetConfig('unet/config.json', UNET).config;
  assert.equal(unetParameterCount(sd21), 865910724);
  const b = memoryBudget(sd21, { batch: 1, latent: 64, lora: { rank: 64, targets: ['to_q', 'to_v'] }, teacherPrecision: 'float16' });
  const row = (item: string): number => b.rows.find((r) => r.item.startsWith(item))?.bytes ?? Number.NaN;
  assert.equal(row('student weights'), 865910724 * 4);
  assert.equal(row('student Adam'), 2 * 865910724 * 4);
  assert.equal(row('frozen teacher'), 865910724 * 4, 'float16 is held in float32: tfjs has no float16 tensors');
  assert.match(b.rows.find((r) => r.item.startsWith('frozen teacher'))?.note ?? '', /no float16/);
  assert.equal(b.parameters.lora, 6639616);
  const ckpt = memoryBudget(sd21, { batch: 1, latent: 64, forward: { checkpoint: true } });
  assert.ok(ckpt.total < b.total);
});
