// Gradient checkpointing and sliced attention of the SD UNet (issue 16): the same forward and BIT-IDENTICAL
// gradients as the plain backward (latents, text embeddings, every weight; LoRA A and B with an adapter on), fewer
// bytes on the tape, no tensor left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import { sdUNetForward, type UNetForwardOptions } from '../../../src/models/sd/unet.js';
import { initLora, type LoraAdapter } from '../../../src/nn/lora.js';
import { attention } from '../../../src/nn/layers.js';
import type { WeightSource } from '../../../src/nn/params.js';
import { tinyInputs, tinyUNet, type TinyUNet } from './tiny-unet.js';

type Grads = Record<string, Float32Array>;

/** gradients of Σ r·UNet(sample, context) w.r.t. the latents, the context and `params` (by name), and the output */
function gradientsOf(unet: TinyUNet, lora: LoraAdapter | undefined, params: Record<string, tf.Variable>, batch: number, size: number, options: UNetForwardOptions, freshSource = false): { out: Float32Array; grads: Grads } {
  return tf.tidy(() => {
    const inputs = tinyInputs(unet.config, batch, size);
    const sample = tf.variable(inputs.sample, true);
    const context = tf.variable(inputs.context, true);
    let out: Float32Array = new Float32Array();
    const named: Record<string, tf.Variable> = { '<latents>': sample, '<context>': context, ...params };
    const { grads } = tf.variableGrads(() => {
      // a trainer may wrap its parameters in a new weight source every step: the segments' weight lists are kept per config
      const weights: WeightSource = freshSource ? { get: (name, shape, init) => unet.weights.get(name, shape, init) } : unet.weights;
      const eps = sdUNetForward({ weights, lora }, unet.config, sample, [999, 37].slice(0, batch), context, options);
      out = eps.dataSync() as Float32Array;
      return tf.sum(tf.mul(eps, inputs.r)) as tf.Scalar;
    }, Object.values(named));
    const byName: Grads = {};
    for (const [name, v] of Object.entries(named)) {
      const g = grads[v.name];
      assert.ok(g !== undefined, `no gradient for ${name}`);
      byName[name] = g.dataSync() as Float32Array;
    }
    tf.dispose([sample, context]);
    return { out, grads: byName };
  });
}

function assertBitIdentical(actual: Grads, expected: Grads, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name] as Float32Array;
    const same = Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    if (!same) {
      let worst = 0;
      for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (e[i] as number)));
      assert.fail(`${what}: gradient of ${name} differs from the plain backward (max |diff| ${worst})`);
    }
  }
}

const nonZero = (g: Float32Array): boolean => g.some((v) => v !== 0);

for (const backend of ['cpu', 'wasm'] as const) {
  test(`checkpointed UNet on ${backend}: output and every gradient (latents, context, all weights) bit-identical to the plain backward`, async () => {
    await selectBackend(backend);
    const unet = tinyUNet();
    sdUNetForward({ weights: unet.weights }, unet.config, tinyInputs(unet.config, 1, 8).sample, [1], tinyInputs(unet.config, 1, 8).context).dispose();
    const params = { ...unet.weights.params };
    const before = tf.memory().numTensors;
    const plain = gradientsOf(unet, undefined, params, 2, 8, {});
    const ckpt = gradientsOf(unet, undefined, params, 2, 8, { checkpoint: true });
    assert.deepEqual(ckpt.out, plain.out, 'forward output');
    assert.ok(Object.keys(plain.grads).length > 100, 'every weight of the UNet has a gradient');
    assertBitIdentical(ckpt.grads, plain.grads, 'checkpoint');
    assert.ok(nonZero(plain.grads['<context>'] as Float32Array) && nonZero(plain.grads['<latents>'] as Float32Array));
    // a second checkpointed step (the weights each segment reads are now remembered) gives the same again
    assertBitIdentical(gradientsOf(unet, undefined, params, 2, 8, { checkpoint: true }).grads, plain.grads, 'second checkpointed step');
    assertBitIdentical(gradientsOf(unet, undefined, params, 2, 8, { checkpoint: true }, true).grads, plain.grads, 'a new weight source object');
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    unet.dispose();
  });
}

test('checkpointed UNet with a LoRA adapter (to_q, to_v, conv1): LoRA A and B gradients, and the base weights\', bit-identical', async () => {
  await selectBackend('wasm');
  const unet = tinyUNet();
  const warm = tinyInputs(unet.config, 1, 8);
  sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
  tf.dispose(Object.values(warm));
  const lora = initLora(unet.weights.params, { rank: 2, alpha: 3, targets: ['to_q', 'to_v', 'conv1'] }, 5);
  // B starts at zero (a fresh adapter changes nothing): make it non-zero so A's gradient is too
  Object.entries(lora.params).forEach(([name, p], i) => {
    if (name.endsWith('.lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.1, 'float32', 100 + i));
  });
  const loraOnly = gradientsOf(unet, lora, lora.params, 2, 8, {});
  const loraOnlyCkpt = gradientsOf(unet, lora, lora.params, 2, 8, { checkpoint: true });
  assert.deepEqual(loraOnlyCkpt.out, loraOnly.out);
  assertBitIdentical(loraOnlyCkpt.grads, loraOnly.grads, 'LoRA parameters only (the LoRA teacher\'s update)');
  assert.ok(Object.keys(lora.params).every((n) => nonZero(loraOnly.grads[n] as Float32Array)), 'every A and B gets a gradient');
  const all = { ...unet.weights.params, ...lora.params };
  assertBitIdentical(gradientsOf(unet, lora, all, 2, 8, { checkpoint: true }).grads, gradientsOf(unet, lora, all, 2, 8, {}).grads, 'base weights and LoRA together');
  // with the adapter switched off (the frozen teacher) the same segments read no A, B
  lora.enabled = false;
  assertBitIdentical(gradientsOf(unet, lora, unet.weights.params, 1, 8, { checkpoint: true }).grads, gradientsOf(unet, lora, unet.weights.params, 1, 8, {}).grads, 'adapter off');
  tf.dispose(Object.values(lora.params));
  unet.dispose();
});

// on wasm a single product runs on XNNPACK while a batch of small ones (under 16384 flops, src/tensor/fast-matmul.ts)
// runs tfjs's batched loop: slices of one (batch · head) row there round differently (≤ 2e-7 on the tiny UNet's
// 16×77 products). Every SD-scale attention product is far above that size; slices of two rows or more are exact.
for (const [backend, slices] of [['cpu', [1, 3]], ['wasm', [2, 3]]] as const) {
  test(`sliced attention on ${backend}: forward and gradients bit-identical to the unsliced attention, alone and inside checkpointing`, async () => {
    await selectBackend(backend);
    const unet = tinyUNet();
    const warm = tinyInputs(unet.config, 1, 8);
    sdUNetForward({ weights: unet.weights }, unet.config, warm.sample, [1], warm.context).dispose();
    tf.dispose(Object.values(warm));
    const params = { ...unet.weights.params };
    const plain = gradientsOf(unet, undefined, params, 2, 8, {});
    for (const options of [...slices.map((attentionSlice) => ({ attentionSlice })), { attentionSlice: slices[0], checkpoint: true }]) {
      const sliced = gradientsOf(unet, undefined, params, 2, 8, options);
      assert.deepEqual(sliced.out, plain.out, `forward with ${JSON.stringify(options)}`);
      assertBitIdentical(sliced.grads, plain.grads, JSON.stringify(options));
    }
    unet.dispose();
  });
}

test('sliced attention with an additive mask (CLIP\'s causal mask): the same values and gradients, the mask\'s summed over slices', async () => {
  await selectBackend('cpu');
  const [b, n, heads, d] = [2, 5, 3, 4];
  const q = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 1) as tf.Tensor3D;
  const k = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 2) as tf.Tensor3D;
  const v = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 3) as tf.Tensor3D;
  const mask = tf.linalg.bandPart(tf.ones([n, n]), -1, 0).sub(1).mul(1e9) as tf.Tensor2D;
  const r = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 4);
  const run = (slice: number | undefined): tf.Tensor[] => {
    const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, mm: tf.Tensor): tf.Tensor => tf.sum(tf.mul(attention(qq as tf.Tensor3D, kk as tf.Tensor3D, vv as tf.Tensor3D, heads, mm as tf.Tensor2D, { slice }), r));
    return [attention(q, k, v, heads, mask, { slice }), ...tf.grads(f)([q, k, v, mask])];
  };
  const [outPlain, ...gradsPlain] = run(undefined);
  const [outSliced, ...gradsSliced] = run(2);
  assert.deepEqual(outSliced?.dataSync(), outPlain?.dataSync());
  gradsPlain.slice(0, 3).forEach((g, i) => assert.deepEqual(gradsSliced[i]?.dataSync(), g.dataSync(), `gradient of input ${i}`));
  // the mask is broadcast over all rows: its gradient is a sum, which slicing orders differently
  const maskDiff = tf.max(tf.abs(tf.sub(gradsSliced[3] as tf.Tensor, gradsPlain[3] as tf.Tensor))).dataSync()[0] as number;
  assert.ok(maskDiff < 1e-5, `mask gradient within 1e-5 (${maskDiff})`);
  assert.throws(() => attention(q, k, v, heads, undefined, { slice: 0 }), /positive integer/);
});
