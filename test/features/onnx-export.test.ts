import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { WeightInitializer, WeightReader } from '../../src/nn/params.js';
import { clipImageForward, clipImageToOnnx, clipTextForward, clipTextToOnnx, perceptionForward, perceptionToOnnx, type ClipSpec, type PerceptionSpec } from '../../src/features/networks.js';

await tf.setBackend('cpu');

const perception: PerceptionSpec = { kind: 'perception', size: 16, trunk: { channels: [8, 12, 16], strides: [1, 2, 2], features: 10 }, logits: 7 };
const clip: ClipSpec = { kind: 'clip', size: 16, trunk: { channels: [8, 12], strides: [2, 1], features: 9 }, text: { vocab: 30, length: 9, width: 16, layers: 2, heads: 4, mlp: 24 }, embed: 6 };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

const nchw = (x: tf.Tensor4D): ort.Tensor => new ort.Tensor('float32', x.transpose([0, 3, 1, 2]).dataSync() as Float32Array, [x.shape[0], x.shape[3], x.shape[1], x.shape[2]]);

test('perception network: ONNX Runtime equals the tfjs forward (pool and logits)', async () => {
  const x = tf.randomNormal([3, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const init = new WeightInitializer(5, false);
  perceptionForward({ weights: init }, perception, x);
  const ref = perceptionForward({ weights: new WeightReader(init.params) }, perception, x);
  const session = await ort.InferenceSession.create(perceptionToOnnx(init.params, perception));
  const out = await session.run({ images: nchw(x) });
  assert.ok(maxAbsDiff(out.pool!.data as Float32Array, ref.pool.dataSync()) < 1e-4);
  assert.ok(maxAbsDiff(out.logits!.data as Float32Array, ref.logits.dataSync()) < 1e-4);
  assert.deepEqual(out.logits!.dims, [3, 7]);
});

test('CLIP towers: ONNX Runtime equals tfjs, padding is masked and embeddings have unit length', async () => {
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const ids = tf.tensor2d([[1, 5, 9, 2, 0, 0, 0, 0, 0], [1, 7, 7, 12, 29, 3, 2, 0, 0]], [2, 9], 'int32');
  const init = new WeightInitializer(7, false);
  clipImageForward({ weights: init }, clip, x);
  clipTextForward({ weights: init }, clip, ids);
  const reader = { weights: new WeightReader(init.params) };
  const img = clipImageForward(reader, clip, x);
  const txt = clipTextForward(reader, clip, ids);

  const imageSession = await ort.InferenceSession.create(clipImageToOnnx(init.params, clip));
  // the tower takes CLIP-normalised pixels: feed (x/255 − mean)/std of the same image the tfjs side saw as (x − 128)/128
  const mean = [0.48145466, 0.4578275, 0.40821073];
  const std = [0.26862954, 0.26130258, 0.27577711];
  const clipInput = tf.div(tf.sub(tf.div(tf.add(tf.mul(x, 128), 128), 255), tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor4D;
  const imageOut = await imageSession.run({ pixel_values: nchw(clipInput) });
  assert.ok(maxAbsDiff(imageOut.image_embeds!.data as Float32Array, img.dataSync()) < 1e-4);

  const textSession = await ort.InferenceSession.create(clipTextToOnnx(init.params, clip));
  const textOut = await textSession.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(Array.from(ids.dataSync()), BigInt), [2, 9]) });
  assert.ok(maxAbsDiff(textOut.text_embeds!.data as Float32Array, txt.embeds.dataSync()) < 1e-4);
  assert.ok(maxAbsDiff(textOut.last_hidden_state!.data as Float32Array, txt.hidden.dataSync()) < 1e-4);
  const norms = tf.sqrt(tf.sum(tf.square(txt.embeds), 1)).dataSync();
  assert.ok(Array.from(norms).every((n) => Math.abs(n - 1) < 1e-5));

  // a different token after <eos> in the padding region must not change anything: it is masked out
  const padded = tf.tensor2d([[1, 5, 9, 2, 0, 0, 0, 0, 0]], [1, 9], 'int32');
  const a = clipTextForward(reader, clip, padded).embeds.dataSync();
  assert.ok(maxAbsDiff(a, txt.embeds.slice([0, 0], [1, 6]).dataSync()) < 1e-6);
});
