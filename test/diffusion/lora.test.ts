import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initUNet, unetForward, disposeParams, type UNet } from '../../src/diffusion/index.js';
import { initLora, loraTargetsOf } from '../../src/nn/lora.js';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import type { ParamMap } from '../../src/nn/params.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';

await tf.setBackend('cpu');

test('target groups name the layers: q, v are SwiftBrush’s; conv is every ResBlock conv', () => {
  assert.deepEqual(loraLayersOf(['q', 'v']), ['to_q', 'to_v']);
  assert.deepEqual(loraLayersOf(['conv', 'q', 'conv']), ['conv1', 'conv2', 'to_q']);
  const net = initUNet(TINY_UNET, 1);
  const convs = loraTargetsOf(net.params, { rank: 2, alpha: 2, targets: loraLayersOf(['conv']) });
  const expected = Object.keys(net.params).filter((n) => /\.conv[12]\.w$/.test(n)).sort();
  assert.ok(expected.length >= 4);
  assert.deepEqual(convs, expected);
  disposeParams(net.params);
});

// A LoRA is a low-rank change of the weights: merging (α/r)·A·B into every adapted weight must give the adapted
// network's output. For a conv adapter A is a k×k conv to r channels and B a 1×1 conv, so the merged kernel is
// A[..., r] contracted with B[r, out].
const merged = (net: UNet, params: ParamMap, scale: number): UNet => {
  const out: ParamMap = { ...net.params };
  for (const name of Object.keys(params).filter((n) => n.endsWith('.lora_a'))) {
    const base = name.slice(0, -'.lora_a'.length);
    const w = net.params[base]!;
    const a = params[name]!;
    const b = params[`${base}.lora_b`]!;
    const rank = a.shape.at(-1)!;
    const delta = tf.matMul(a.reshape([-1, rank]), b.reshape([rank, -1])).reshape(w.shape);
    out[base] = tf.variable(tf.add(w, tf.mul(delta, scale)), false);
  }
  return { config: net.config, params: out };
};

test('conv and linear adapters equal their merged weights; a fresh adapter changes nothing', async () => {
  const net = initUNet(TINY_UNET, 5);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const cond = tf.randomNormal([2, 5, 12], 0, 1, 'float32', 2) as tf.Tensor3D;
  const lora = initLora(net.params, { rank: 3, alpha: 6, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) }, 9);
  const convA = Object.entries(lora.params).find(([n]) => n.endsWith('.conv1.w.lora_a'));
  assert.ok(convA && convA[1].shape.length === 4 && convA[1].shape[3] === 3, 'conv adapters are k×k convs to rank channels');
  const base = unetForward(net, x, 300, cond);
  assert.equal(tf.max(tf.abs(tf.sub(unetForward(net, x, 300, cond, lora), base))).dataSync()[0], 0, 'B = 0: no change');

  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.3, 'float32', 4));
  const adapted = unetForward(net, x, 300, cond, lora);
  const reference = unetForward(merged(net, lora.params, 6 / 3), x, 300, cond);
  const scale = tf.max(tf.abs(reference)).dataSync()[0] ?? 1;
  assert.ok((tf.max(tf.abs(tf.sub(adapted, base))).dataSync()[0] ?? 0) > 1e-2 * scale, 'trained adapters change the output');
  assert.ok((tf.max(tf.abs(tf.sub(adapted, reference))).dataSync()[0] ?? 1) < 1e-5 * scale, 'adapted == merged weights');
  disposeParams(lora.params);
  disposeParams(net.params);
});
