import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import { initUNet, unetForward } from '../../src/diffusion/unet/index.js';
import { openUNetEngine } from '../../src/diffusion/unet/open-unet-engine.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { initLora, withLora } from '../../src/nn/lora.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';

await tf.setBackend('cpu');

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
const bits = (t: tf.Tensor): number[] => Array.from(t.dataSync());

test('the synchronous ONNX engine: the committed teacher’s ε̂ as unetForward gives it, the same bits every run', (t) => {
  const teacher = loadTeacher('models/embedded/teacher');
  const engine = openUNetEngine(teacher.unet, 'onnx');
  assert.equal(engine.name, 'onnx');
  const cond = teacher.text.encode(['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas', '']);
  const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  const ts = [999, 480, 20];
  const out = engine.forward(x, ts, cond);
  const reference = unetForward(teacher.unet, x, ts, cond);
  const d = maxAbsDiff(out, reference);
  t.diagnostic(`max |ORT − tfjs| = ${d.toExponential(2)}`);
  assert.ok(d < 2e-5, `${d}`);
  assert.ok((tf.max(tf.abs(reference)).dataSync()[0] as number) > 0.1, 'the reference is not trivially small');
  assert.deepEqual(bits(engine.forward(x, ts, cond)), bits(out));
  engine.dispose();
  assert.throws(() => engine.forward(x, ts, cond), /after dispose/);
});

test('the ONNX engine with a LoRA shape reads the adapter’s weights at every call, and computes the base network when it is off or absent', () => {
  const net = initUNet(TINY_UNET, 5);
  const lora = initLora(net.params, { rank: 3, alpha: 6, targets: loraLayersOf(['q', 'v', 'conv']) }, 2);
  const engine = onnxUNetEngine(net, { lora: lora.config });
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const cond = tf.randomNormal([2, 4, TINY_UNET.condDim], 0, 1, 'float32', 4) as tf.Tensor3D;
  const base = unetForward(net, x, [700, 30], cond);
  // B = 0 at init: the adapter computes the base network
  assert.ok(maxAbsDiff(engine.forward(x, [700, 30], cond, lora), base) < 2e-5);
  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.5, 'float32', name.length));
  const adapted = withLora(lora, true, () => unetForward(net, x, [700, 30], cond, lora));
  assert.ok(maxAbsDiff(adapted, base) > 1e-2, 'the trained adapter changes the output');
  assert.ok(maxAbsDiff(engine.forward(x, [700, 30], cond, lora), adapted) < 2e-5, 'weights as they are now');
  assert.ok(maxAbsDiff(withLora(lora, false, () => engine.forward(x, [700, 30], cond, lora)), base) < 2e-5, 'a switched-off adapter');
  assert.ok(maxAbsDiff(engine.forward(x, [700, 30], cond), base) < 2e-5, 'no adapter');
  engine.dispose();
});
