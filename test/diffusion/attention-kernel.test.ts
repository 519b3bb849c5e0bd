import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { ATTENTION, registerAttentionKernel, unregisterAttentionKernel } from '../../src/tensor/attention-kernel.js';
import { attention } from '../../src/diffusion/unet/blocks.js';
import { WeightReader, type ParamMap } from '../../src/nn/params.js';
import type { LoraAdapter } from '../../src/nn/lora.js';
import { randomArray } from '../helpers/random-arrays.js';

// the fused attention core against the op chain it replaces (split heads, q kᵀ, scale, softmax, · v, merge heads):
// output, loss and every gradient bit for bit, on wasm and cpu, at the embedded UNet's self- and cross-attention
// shapes and odd ones, with x also feeding the loss (its gradient sums several contributions) and with the context
// either trained or a constant with a frozen to_k (the k gradient then never asked for)

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

interface Case {
  what: string;
  b: number;
  n: number;
  /** undefined: self-attention (the context is x) */
  m: number | undefined;
  c: number;
  heads: number;
  /** cross-attention only: the context is a trained variable (else a constant, and to_k frozen) */
  trainContext?: boolean;
}

const CASES: Case[] = [
  { what: 'self-attention, b 16, n 64, c 64, 4 heads', b: 16, n: 64, m: undefined, c: 64, heads: 4 },
  { what: 'cross-attention, b 16, n 64, m 24, frozen to_k, constant text', b: 16, n: 64, m: 24, c: 64, heads: 4 },
  { what: 'cross-attention, b 32, n 16, m 24, trained context', b: 32, n: 16, m: 24, c: 64, heads: 4, trainContext: true },
  { what: 'self-attention, b 32, n 16', b: 32, n: 16, m: undefined, c: 64, heads: 4 },
  { what: 'odd: b 3, n 5, m 7, c 12, 3 heads', b: 3, n: 5, m: 7, c: 12, heads: 3, trainContext: true },
  { what: 'odd: b 2, n 9, self, c 10, 1 head', b: 2, n: 9, m: undefined, c: 10, heads: 1 },
  { what: 'odd: b 1, n 1, m 3, c 8, 2 heads', b: 1, n: 1, m: 3, c: 8, heads: 2, trainContext: true },
];

const NAME = 'blk.attn';

interface Run {
  out: number[];
  loss: number[];
  grads: Record<string, number[]>;
  inference: number[];
  fusedCalls: number;
  tensorsLeft: number;
}

const runCase = (c: Case): Run => {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const runKernel = engine.runKernel;
  let fusedCalls = 0;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    if (name === ATTENTION) fusedCalls++;
    return runKernel.call(this, name, ...rest);
  };
  let seed = 17;
  const value = (shape: number[], scale: number): tf.Tensor => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed++, scale), shape);
  const named: Record<string, tf.Tensor> = {};
  const base: ParamMap = {};
  for (const p of ['to_q', 'to_k', 'to_v', 'to_out']) base[`${NAME}.${p}.w`] = tf.variable(value([c.c, c.c], 0.8), true);
  base[`${NAME}.to_out.b`] = tf.variable(value([c.c], 0.4), true);
  const lora: ParamMap = {};
  for (const p of ['to_q', 'to_v']) {
    lora[`${NAME}.${p}.w.lora_a`] = tf.variable(value([c.c, 4], 0.6), true);
    lora[`${NAME}.${p}.w.lora_b`] = tf.variable(value([4, c.c], 0.6), true);
  }
  const adapter: LoraAdapter = { config: { rank: 4, alpha: 6, targets: ['to_q', 'to_v'] }, params: lora, enabled: true };
  const x = tf.variable(value([c.b, c.n, c.c], 3), true);
  const cross = c.m !== undefined;
  const context = cross ? (c.trainContext === true ? tf.variable(value([c.b, c.m as number, c.c], 3), true) : value([c.b, c.m as number, c.c], 3)) : undefined;
  Object.assign(named, { x, ...base, ...lora }, context instanceof tf.Variable ? { context } : {});
  const frozen = cross && c.trainContext !== true ? new Set([`${NAME}.to_k.w`]) : new Set<string>();
  const vars = Object.entries(named).filter(([k]) => !frozen.has(k)).map(([, t]) => t as tf.Variable);
  const ctx = { weights: new WeightReader(base), lora: adapter };
  const net = (): tf.Tensor => {
    const y = attention(ctx, NAME, x as tf.Tensor3D, (context ?? x) as tf.Tensor3D, c.heads);
    return tf.add(y, tf.mul(x, 0.5));
  };
  try {
    const before = tf.memory().numTensors;
    let out: number[] = [];
    const { value: loss, grads } = tf.variableGrads(() => {
      const y = net();
      out = bits(y);
      return tf.sum(tf.mul(y, y)) as tf.Scalar;
    }, vars);
    const inference = tf.tidy(() => bits(net()));
    const run: Run = { out, loss: bits(loss), grads: {}, inference, fusedCalls, tensorsLeft: 0 };
    for (const [name, t] of Object.entries(named)) {
      if (frozen.has(name)) continue;
      const g = grads[t instanceof tf.Variable ? t.name : ''];
      assert.ok(g !== undefined, `${c.what}: gradient of ${name}`);
      run.grads[name] = bits(g);
    }
    tf.dispose([loss, ...Object.values(grads)]);
    run.tensorsLeft = tf.memory().numTensors - before;
    return run;
  } finally {
    engine.runKernel = runKernel;
    tf.dispose([...Object.values(named), ...(context !== undefined ? [context] : [])]);
  }
};

test('fused attention: outputs, loss and all gradients equal the op chain bit for bit, on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    for (const c of CASES) {
      registerAttentionKernel(backend);
      const fused = runCase(c);
      unregisterAttentionKernel(backend);
      const chain = runCase(c);
      registerAttentionKernel(backend);
      const label = `${backend}, ${c.what}`;
      // once in the recorded pass and once in the inference pass
      assert.equal(fused.fusedCalls, 2, `${label}: the fused kernel ran`);
      assert.equal(chain.fusedCalls, 0, `${label}: the chain ran without it`);
      assert.deepEqual(fused.out, chain.out, `${label}: output`);
      assert.deepEqual(fused.inference, chain.inference, `${label}: output without a tape`);
      assert.deepEqual(fused.loss, chain.loss, `${label}: loss`);
      assert.deepEqual(Object.keys(fused.grads), Object.keys(chain.grads), `${label}: gradient names`);
      assert.ok(Object.keys(chain.grads).length >= 9, `${label}: every gradient compared`);
      for (const [name, g] of Object.entries(chain.grads)) assert.deepEqual(fused.grads[name], g, `${label}: gradient of ${name}`);
      assert.equal(fused.tensorsLeft, chain.tensorsLeft, `${label}: tensors left`);
      assert.equal(fused.tensorsLeft, 0, `${label}: no tensor leaks`);
    }
  }
});
