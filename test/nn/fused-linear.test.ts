import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { LINEAR, LORA_LINEAR, registerLinearKernels, unregisterLinearKernels } from '../../src/tensor/linear-kernel.js';
import { type LayerContext, linear } from '../../src/nn/layers.js';
import { WeightReader, type ParamMap } from '../../src/nn/params.js';
import type { LoraAdapter } from '../../src/nn/lora.js';
import { randomArray } from '../helpers/random-arrays.js';

// the fused linear kernel against the op chain it replaces (reshape, matMul, LoRA delta, add, add bias, reshape):
// outputs, loss and every gradient bit for bit, on wasm and cpu, with and without LoRA and bias, with x consumed by
// several layers and ops (its gradient sums 4+ contributions, so their order shows in the bits)

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

interface Case {
  what: string;
  xShape: number[];
  hidden: number;
  lora: { rank: number; alpha: number } | undefined;
  enabled?: boolean;
}

const CASES: Case[] = [
  { what: 'rank-3 x, LoRA on q and v', xShape: [2, 5, 12], hidden: 8, lora: { rank: 4, alpha: 6 } },
  { what: 'rank-4 x, no adapter', xShape: [3, 4, 4, 16], hidden: 24, lora: undefined },
  { what: 'SwiftBrush scale 108/64, wide rows (xnnpack products)', xShape: [4, 64, 32], hidden: 32, lora: { rank: 64, alpha: 108 } },
  { what: 'adapter switched off', xShape: [2, 6, 10], hidden: 6, lora: { rank: 2, alpha: 3 }, enabled: false },
];

const makeParams = (c: Case): { base: ParamMap; adapter: LoraAdapter | undefined } => {
  const inDim = c.xShape[c.xShape.length - 1] as number;
  let seed = 11;
  const v = (shape: number[]): tf.Variable => tf.variable(tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed++, 0.6), shape), true);
  const base: ParamMap = {};
  for (const n of ['q', 'k', 'v']) {
    base[`attn.${n}.w`] = v([inDim, c.hidden]);
    if (n !== 'k') base[`attn.${n}.b`] = v([c.hidden]);
  }
  base['attn.o.w'] = v([c.hidden, inDim]);
  base['attn.o.b'] = v([inDim]);
  if (c.lora === undefined) return { base, adapter: undefined };
  const params: ParamMap = {};
  for (const n of ['q', 'v']) {
    params[`attn.${n}.w.lora_a`] = v([inDim, c.lora.rank]);
    // B non-zero (a fresh adapter's is zero) so that the delta shows in the bits
    params[`attn.${n}.w.lora_b`] = v([c.lora.rank, c.hidden]);
  }
  return { base, adapter: { config: { ...c.lora, targets: ['q', 'v'] }, params, enabled: c.enabled ?? true } };
};

/** q, k (no bias), v and o layers; x feeds q, k, v and the loss */
const net = (ctx: LayerContext, x: tf.Tensor, hidden: number, inDim: number): tf.Tensor => {
  const q = linear(ctx, 'attn.q', x, hidden);
  const k = linear(ctx, 'attn.k', x, hidden, { bias: false });
  const v = linear(ctx, 'attn.v', x, hidden);
  const o = linear(ctx, 'attn.o', tf.mul(tf.add(q, k), v), inDim);
  return tf.add(o, tf.mul(x, 0.5));
};

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
    if (name === LINEAR || name === LORA_LINEAR) fusedCalls++;
    return runKernel.call(this, name, ...rest);
  };
  const { base, adapter } = makeParams(c);
  const inDim = c.xShape[c.xShape.length - 1] as number;
  const x = tf.variable(tf.tensor(randomArray(c.xShape.reduce((a, b) => a * b, 1), 5, 1.5), c.xShape), true);
  const ctx: LayerContext = { weights: new WeightReader(base), lora: adapter };
  // a switched-off adapter's pair is not on the path (no gradient)
  const loraVars = adapter?.enabled === true ? Object.values(adapter.params) : [];
  const vars = [x, ...Object.values(base), ...loraVars];
  try {
    const before = tf.memory().numTensors;
    let out: number[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const y = net(ctx, x, c.hidden, inDim);
      out = bits(y);
      return tf.sum(tf.mul(y, y)) as tf.Scalar;
    }, vars);
    const inference = tf.tidy(() => bits(net(ctx, x, c.hidden, inDim)));
    const run: Run = { out, loss: bits(value), grads: {}, inference, fusedCalls, tensorsLeft: 0 };
    for (const v of vars) {
      const g = grads[v.name];
      assert.ok(g !== undefined, `${c.what}: gradient of ${v.name}`);
      run.grads[Object.entries({ x, ...base, ...(adapter?.params ?? {}) }).find(([, t]) => t === v)?.[0] ?? v.name] = bits(g);
    }
    tf.dispose([value, ...Object.values(grads)]);
    run.tensorsLeft = tf.memory().numTensors - before;
    return run;
  } finally {
    engine.runKernel = runKernel;
    tf.dispose([x, ...Object.values(base), ...Object.values(adapter?.params ?? {})]);
  }
};

test('fused linear: outputs, loss and all gradients equal the op chain bit for bit, on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    await selectBackend(backend);
    for (const c of CASES) {
      registerLinearKernels(backend);
      const fused = runCase(c);
      unregisterLinearKernels(backend);
      const chain = runCase(c);
      registerLinearKernels(backend);
      const label = `${backend}, ${c.what}`;
      // each of the 4 layers once in the recorded pass and once in the inference pass
      assert.equal(fused.fusedCalls, 8, `${label}: the fused kernel ran`);
      assert.equal(chain.fusedCalls, 0, `${label}: the chain ran without it`);
      assert.deepEqual(fused.out, chain.out, `${label}: output`);
      assert.deepEqual(fused.inference, chain.inference, `${label}: output without a tape`);
      assert.deepEqual(fused.loss, chain.loss, `${label}: loss`);
      assert.deepEqual(Object.keys(fused.grads), Object.keys(chain.grads), `${label}: gradient names`);
      for (const [name, g] of Object.entries(chain.grads)) assert.deepEqual(fused.grads[name], g, `${label}: gradient of ${name}`);
      assert.equal(fused.tensorsLeft, chain.tensorsLeft, `${label}: tensors left`);
      assert.equal(fused.tensorsLeft, 0, `${label}: no tensor leaks`);
    }
  }
});
