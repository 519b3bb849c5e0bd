import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { installDirectSaves, uninstallDirectSaves } from '../../src/tensor/zero-copy.js';
import { groupNorm, layerNorm } from '../../src/tensor/fused-ops.js';

// the engine's saves through the Identity kernel directly must leave every gradient bit and every tensor count
// as tfjs's own Engine.clone does

const values = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};
const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

/** a small network with convs, a matMul, fused norms, a concat, reshapes, a customGrad and a reused input */
const step = (): { grads: number[][]; loss: number[]; identityRuns: number; tensorsAfter: number } => {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel;
  let identityRuns = 0;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    if (name === tf.Identity) identityRuns++;
    return runKernel.call(this, name, ...rest);
  };
  try {
    const vars = [tf.variable(tf.tensor4d(values(3 * 3 * 4 * 8, 1), [3, 3, 4, 8])), tf.variable(tf.tensor2d(values(8 * 6, 2), [8, 6])), tf.variable(tf.tensor1d(values(8, 3))), tf.variable(tf.tensor1d(values(8, 4)))];
    const x = tf.tensor4d(values(2 * 6 * 6 * 4, 5), [2, 6, 6, 4]);
    const square = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = args[1] as tf.GradSaveFunc;
      const a = args[0] as tf.Tensor;
      save([a]);
      return { value: tf.mul(a, a), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0] as tf.Tensor, 2)) };
    });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const [w, m, g, b] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
      const h = tf.conv2d(x, w as tf.Tensor4D, 1, 'same');
      const n = groupNorm(h, g, b, 4, { eps: 1e-5, silu: true });
      const joined = tf.concat([n, h], 3);
      const tokens = layerNorm(joined.reshape([-1, 16]), tf.ones([16]), tf.zeros([16]), 1e-5);
      const y = tf.matMul(tokens.slice([0, 0], [-1, 8]), m);
      return tf.add(square(y).mean(), tf.mul(h, h).sum()) as tf.Scalar;
    }, vars);
    const out = { grads: vars.map((v) => bits(grads[v.name] as tf.Tensor)), loss: bits(value), identityRuns, tensorsAfter: 0 };
    tf.dispose([value, ...Object.values(grads)]);
    out.tensorsAfter = tf.memory().numTensors - before;
    tf.dispose([x, ...vars]);
    return out;
  } finally {
    engine.runKernel = runKernel;
  }
};

test('saves without runKernel: gradients, loss and tensor counts equal tfjs clone bit for bit, on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    installDirectSaves(tf);
    const direct = step();
    uninstallDirectSaves(tf);
    const original = step();
    installDirectSaves(tf);
    assert.ok(original.identityRuns > 0, `${backend}: tfjs's clone runs Identity through runKernel`);
    assert.equal(direct.identityRuns, 0, `${backend}: the direct saves never do`);
    assert.deepEqual(direct.loss, original.loss, `${backend}: loss`);
    assert.deepEqual(direct.grads, original.grads, `${backend}: gradients`);
    assert.equal(direct.tensorsAfter, original.tensorsAfter, `${backend}: tensors left`);
  }
});
