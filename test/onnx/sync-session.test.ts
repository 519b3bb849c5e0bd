import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from '../../src/onnx/graph-builder.js';
import { openSyncOnnxSession } from '../../src/onnx/sync-session.js';
import { BadInputError } from '../../src/errors.js';

/** y = tanh(x W + b) on a dynamic batch: enough kernels that a wrong feed or layout shows */
function smallModel(): { bytes: Uint8Array; w: Float32Array; b: Float32Array } {
  const w = Float32Array.from({ length: 4 * 3 }, (_, i) => Math.sin(i + 1));
  const b = Float32Array.from({ length: 3 }, (_, i) => 0.1 * (i - 1));
  const g = new OnnxGraphBuilder('small');
  g.input('x', 'float32', ['batch', 4]);
  const xw = g.node('MatMul', ['x', g.initializer('w', w, [4, 3])]);
  g.node('Tanh', [g.node('Add', [xw, g.initializer('b', b, [3])])], {}, ['y']);
  g.output('y', 'float32', ['batch', 3]);
  return { bytes: g.encode(), w, b };
}

const unreadable = (reason: string): BadInputError => new BadInputError('TEST_MODEL', `model unreadable: ${reason}`);

test('a synchronous ONNX session computes the graph before it returns, as the asynchronous session does', async () => {
  const { bytes, w, b } = smallModel();
  const session = openSyncOnnxSession(bytes, { provider: 'cpu' }, unreadable);
  assert.deepEqual(session.inputNames, ['x']);
  assert.deepEqual(session.outputNames, ['y']);
  const x = Float32Array.from({ length: 2 * 4 }, (_, i) => 0.3 * i - 1);
  let deferred = false;
  setImmediate(() => (deferred = true));
  const y = session.run({ x: new ort.Tensor('float32', x, [2, 4]) }).y!;
  assert.equal(deferred, false, 'the result came before the event loop turned');
  assert.deepEqual(y.dims, [2, 3]);
  const expected = [0, 1].flatMap((r) => [0, 1, 2].map((c) => Math.tanh([0, 1, 2, 3].reduce((s, k) => s + x[r * 4 + k]! * w[k * 3 + c]!, 0) + b[c]!)));
  (y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${v} vs ${expected[i]}`));
  const again = session.run({ x: new ort.Tensor('float32', x, [2, 4]) }).y!;
  assert.deepEqual(Array.from(again.data as Float32Array), Array.from(y.data as Float32Array), 'bit-identical run to run');

  const viaPublic = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const publicY = (await viaPublic.run({ x: new ort.Tensor('float32', x, [2, 4]) })).y!;
  assert.deepEqual(Array.from(publicY.data as Float32Array), Array.from(y.data as Float32Array));
  await viaPublic.release();
  session.dispose();
  assert.throws(() => session.run({ x: new ort.Tensor('float32', x, [2, 4]) }), /disposed/);
});

test('a missing input is named; bytes that are no model become the caller’s error', () => {
  const session = openSyncOnnxSession(smallModel().bytes, { provider: 'cpu' }, unreadable);
  assert.throws(() => session.run({}), /input 'x' is missing/);
  session.dispose();
  assert.throws(() => openSyncOnnxSession(new Uint8Array([1, 2, 3, 4]), {}, unreadable), (e: unknown) => e instanceof BadInputError && /^model unreadable: /.test(e.message));
});
