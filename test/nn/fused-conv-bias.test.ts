import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { CONV_BIAS, registerConvBiasKernel, unregisterConvBiasKernel } from '../../src/tensor/conv-bias-kernel.js';
import { type LayerContext, conv } from '../../src/nn/layers.js';
import { WeightReader, type ParamMap } from '../../src/nn/params.js';
import type { LoraAdapter } from '../../src/nn/lora.js';
import { randomArray } from '../helpers/random-arrays.js';

// the fused conv + bias kernel against tf.conv2d + tf.add: outputs, loss and every gradient bit for bit, on wasm
// and cpu, stride 1 and 2, 'same' and explicit padding, x consumed by two convs and an op; a LoRA-adapted conv keeps
// the op chain (its delta adds before the bias)

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

interface Run {
  out: number[];
  loss: number[];
  grads: Record<string, number[]>;
  inference: number[];
  fusedCalls: number;
  tensorsLeft: number;
}

const C = 6;

const runNet = (withLora: boolean): Run => {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel;
  let fusedCalls = 0;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    if (name === CONV_BIAS) fusedCalls++;
    return runKernel.call(this, name, ...rest);
  };
  let seed = 3;
  const v = (shape: number[]): tf.Variable => tf.variable(tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed++, 0.5), shape), true);
  const base: ParamMap = {
    'a.w': v([3, 3, 4, C]),
    'a.b': v([C]),
    'down.w': v([3, 3, 4, C]),
    'down.b': v([C]),
    'pad.w': v([3, 3, C, 4]),
    'pad.b': v([4]),
    'skip.w': v([1, 1, 4, 4]),
    'skip.b': v([4]),
  };
  const lora: ParamMap = { 'a.w.lora_a': v([3, 3, 4, 2]), 'a.w.lora_b': v([1, 1, 2, C]) };
  const adapter: LoraAdapter | undefined = withLora ? { config: { rank: 2, alpha: 3, targets: ['a'] }, params: lora, enabled: true } : undefined;
  const x = v([2, 8, 8, 4]) as tf.Variable<tf.Rank.R4>;
  const ctx: LayerContext = { weights: new WeightReader(base), lora: adapter };
  const net = (): tf.Tensor => {
    const h = conv(ctx, 'a', x, C, 3);
    const d = conv(ctx, 'down', x, C, 3, { stride: 2, padding: 1 });
    const back = conv(ctx, 'pad', tf.mul(h, tf.sigmoid(h)), 4, 3, { padding: 1 });
    const s = conv(ctx, 'skip', x, 4, 1);
    return tf.add(tf.add(tf.sum(tf.mul(back, s)), tf.sum(tf.mul(d, d))), tf.sum(tf.mul(x, x)));
  };
  const vars = [x, ...Object.values(base), ...(withLora ? Object.values(lora) : [])];
  try {
    const before = tf.memory().numTensors;
    let out: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const y = net();
      out = bits(y);
      return y as tf.Scalar;
    }, vars);
    const inference = tf.tidy(() => bits(net()));
    const names = Object.entries({ x, ...base, ...lora });
    const run: Run = { out, loss: bits(value), grads: {}, inference, fusedCalls, tensorsLeft: 0 };
    for (const variable of vars) {
      const g = grads[variable.name];
      assert.ok(g !== undefined, `gradient of ${variable.name}`);
      run.grads[names.find(([, t]) => t === variable)?.[0] ?? variable.name] = bits(g);
    }
    tf.dispose([value, ...Object.values(grads)]);
    run.tensorsLeft = tf.memory().numTensors - before;
    return run;
  } finally {
    engine.runKernel = runKernel;
    tf.dispose([x, ...Object.values(base), ...Object.values(lora)]);
  }
};

test('fused conv + bias: outputs, loss and all gradients equal tf.conv2d + tf.add bit for bit, on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    for (const withLora of [false, true]) {
      registerConvBiasKernel(backend);
      const fused = runNet(withLora);
      unregisterConvBiasKernel(backend);
      const chain = runNet(withLora);
      registerConvBiasKernel(backend);
      const label = `${backend}, ${withLora ? 'LoRA on conv a' : 'no adapter'}`;
      // 4 convs (3 when conv a has a LoRA delta) in the recorded pass and again without a tape
      assert.equal(fused.fusedCalls, withLora ? 6 : 8, `${label}: the fused kernel ran`);
      assert.equal(chain.fusedCalls, 0, `${label}: the chain ran without it`);
      assert.deepEqual(fused.out, chain.out, `${label}: output`);
      assert.deepEqual(fused.inference, chain.inference, `${label}: output without a tape`);
      assert.deepEqual(fused.loss, chain.loss, `${label}: loss`);
      assert.deepEqual(Object.keys(fused.grads), Object.keys(chain.grads), `${label}: gradient names`);
      for (const [name, g] of Object.entries(chain.grads)) assert.deepEqual(fused.grads[name], g, `${label}: gradient of ${name}`);
      assert.equal(fused.tensorsLeft, 0, `${label}: no tensor leaks`);
      assert.equal(chain.tensorsLeft, 0, `${label}: no tensor leaks (chain)`);
    }
  }
});
