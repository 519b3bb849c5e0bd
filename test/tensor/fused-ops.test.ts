import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  selectBackend,
  groupNorm,
  layerNorm,
  silu,
  geglu,
  groupNormReference,
  layerNormReference,
  siluReference,
  gegluReference,
  registerFusedKernels,
  unregisterFusedKernels,
  fusedKernelsRegistered,
} from '../../src/tensor/index.js';
import { fastExp } from '../../src/tensor/fast-math.js';
import { initUNet, unetForward, disposeParams, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';
import { randomArray } from '../helpers/random-arrays.js';

// every fused op against the plain tfjs composition it replaces (the composition on the cpu backend is the
// reference), forward and every gradient, on cpu (the same JS kernels) and on wasm

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** max |got − want| / max |want|: float32 rounding of O(1)-conditioned results stays near 1e-7 */
const relativeError = (got: Float32Array, want: Float32Array): number => {
  assert.equal(got.length, want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  return worst / Math.max(scale, 1e-30);
};
const assertClose = (got: Float32Array, want: Float32Array, label: string, tol = 1e-5): void => {
  const e = relativeError(got, want);
  assert.ok(e <= tol, `${label}: relative error ${e.toExponential(2)} > ${tol}`);
};

const values = async (ts: tf.Tensor[]): Promise<Float32Array[]> => {
  const out = await Promise.all(ts.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(ts);
  return out;
};

/** y and the gradients of Σ y·w with respect to every input, for an op on the active backend */
const forwardAndGrads = (op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: { data: Float32Array; shape: number[] }[], weightSeed: number): tf.Tensor[] =>
  tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = op(...xs);
    const w = tf.tensor(randomArray(y.size, weightSeed), y.shape);
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(op(...a), w)))(xs);
    return [y, ...grads];
  });

/** the fused op on `backend` against the reference composition on cpu */
const checkOp = async (
  label: string,
  backend: 'cpu' | 'wasm',
  fused: (...xs: tf.Tensor[]) => tf.Tensor,
  reference: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: { data: Float32Array; shape: number[] }[],
  outputs: string[],
): Promise<void> => {
  await tf.setBackend('cpu');
  const want = await values(forwardAndGrads(reference, inputs, 99));
  await tf.setBackend(backend);
  const got = await values(forwardAndGrads(fused, inputs, 99));
  assert.equal(got.length, outputs.length);
  got.forEach((g, i) => assertClose(g, want[i]!, `${label} on ${backend}: ${outputs[i]}`));
};

const GN_CASES: { shape: number[]; groups: number }[] = [
  { shape: [2, 5, 4, 12], groups: 3 },
  { shape: [1, 3, 3, 8], groups: 8 }, // one channel per group, batch 1
  { shape: [3, 4, 2, 6], groups: 1 }, // one group of every channel
  { shape: [2, 4, 4, 16], groups: 4 }, // four channels per group (the unrolled sums)
  { shape: [1, 2, 1, 10], groups: 5 }, // two positions of two channels: four values per group
  { shape: [2, 7, 10], groups: 2 }, // rank 3: [B, tokens, C]
  { shape: [4, 6, 6, 32], groups: 8 },
];

test('fused kernels are registered on cpu and wasm by default', async () => {
  await selectBackend('wasm');
  assert.ok(fusedKernelsRegistered('cpu'));
  assert.ok(fusedKernelsRegistered('wasm'));
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`group norm (± SiLU) on ${backend}: forward, dx, dγ, dβ equal the tfjs composition`, async () => {
    if (backend === 'wasm') await selectBackend('wasm');
    let seed = 1;
    for (const { shape, groups } of GN_CASES) {
      const c = shape[shape.length - 1]!;
      // an offset mean and a spread far from 1 exercise the statistics
      const inputs = [
        { data: randomArray(size(shape), seed++, 3, 0.7), shape },
        { data: randomArray(c, seed++, 1, 1), shape: [c] },
        { data: randomArray(c, seed++, 1, 0), shape: [c] },
      ];
      for (const act of [false, true]) {
        await checkOp(
          `groupNorm [${shape}] groups ${groups} silu ${act}`,
          backend,
          (x, g, b) => groupNorm(x!, g!, b!, groups, { silu: act }),
          (x, g, b) => groupNormReference(x!, g!, b!, groups, { silu: act }),
          inputs,
          ['y', 'dx', 'dgamma', 'dbeta'],
        );
      }
    }
  });

  test(`layer norm, SiLU, GEGLU on ${backend}: forward and gradients equal the tfjs composition`, async () => {
    if (backend === 'wasm') await selectBackend('wasm');
    for (const shape of [[3, 7, 10], [1, 1], [5, 32], [2, 3, 4, 64]]) {
      const c = shape[shape.length - 1]!;
      await checkOp(
        `layerNorm [${shape}]`,
        backend,
        (x, g, b) => layerNorm(x!, g!, b!),
        (x, g, b) => layerNormReference(x!, g!, b!),
        [
          { data: randomArray(size(shape), 11, 4, -0.5), shape },
          { data: randomArray(c, 12, 1, 1), shape: [c] },
          { data: randomArray(c, 13), shape: [c] },
        ],
        ['y', 'dx', 'dgamma', 'dbeta'],
      );
    }
    for (const shape of [[4, 9], [2, 3, 5, 7], [1]]) {
      // wide enough to reach both saturated ends of the sigmoid
      await checkOp(`silu [${shape}]`, backend, (x) => silu(x!), (x) => siluReference(x!), [{ data: randomArray(size(shape), 21, 30), shape }], ['y', 'dx']);
    }
    // gates within ±2: further out the composition's 1 + tanh(u) cancels in float32 (see the float64 check)
    for (const shape of [[6, 16], [2, 5, 64], [1, 2]]) {
      await checkOp(`geglu [${shape}]`, backend, (x) => geglu(x!), (x) => gegluReference(x!), [{ data: randomArray(size(shape), 31, 4), shape }], ['y', 'dx']);
    }
  });

  test(`fused ops on ${backend} are deterministic (bit-identical run to run) and free what they allocate`, async () => {
    if (backend === 'wasm') await selectBackend('wasm');
    else await tf.setBackend('cpu');
    const shape = [2, 6, 6, 16];
    const inputs = [
      { data: randomArray(size(shape), 41), shape },
      { data: randomArray(16, 42, 1, 1), shape: [16] },
      { data: randomArray(16, 43), shape: [16] },
    ];
    const op = (x: tf.Tensor | undefined, g: tf.Tensor | undefined, b: tf.Tensor | undefined): tf.Tensor => {
      const h = groupNorm(x!, g!, b!, 4, { silu: true });
      const t = layerNorm(h.reshape([2, 36, 16]), g!, b!);
      return geglu(silu(t));
    };
    const first = await values(forwardAndGrads(op, inputs, 44));
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    const second = await values(forwardAndGrads(op, inputs, 44));
    assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
    assert.equal(tf.backend().numDataIds(), dataIds, 'no backend buffers left behind');
    first.forEach((f, i) => assert.deepEqual(second[i], f, `output ${i} bit-identical`));
  });
}

test('SiLU and GEGLU against float64 over ±30: within float32 rounding of every element', async () => {
  await selectBackend('wasm');
  const x = randomArray(4096, 71, 60);
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  // ½(1 + tanh u) written as σ(2u): 1 + tanh u cancels for u ≪ 0 even in float64
  const gelu = (v: number): number => v * sig(2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3));
  const check = (got: Float32Array, truth: (i: number) => number, label: string): void => {
    for (let i = 0; i < got.length; i++) {
      const t = truth(i);
      assert.ok(Math.abs(got[i]! - t) <= 2e-7 * Math.abs(t) + 1e-37, `${label}[${i}]: ${got[i]} vs ${t}`);
    }
  };
  const [s] = await values([silu(tf.tensor(x))]);
  check(s!, (i) => x[i]! * sig(x[i]!), 'silu');
  const [g] = await values([geglu(tf.tensor(x, [2048, 2]))]);
  check(g!, (i) => x[2 * i]! * gelu(x[2 * i + 1]!), 'geglu');
});

test('group norm gradient: from the kept SiLU gate and recomputed, the same within rounding', async () => {
  await selectBackend('wasm');
  const shape = [2, 4, 4, 8];
  const x = tf.tensor(randomArray(size(shape), 81, 3, 0.5), shape);
  const gamma = tf.tensor(randomArray(8, 82, 1, 1), [8]);
  const beta = tf.tensor(randomArray(8, 83), [8]);
  const dy = tf.tensor(randomArray(size(shape), 84), shape);
  const attrs = { groups: 4, eps: 1e-5, silu: true, keepGate: true };
  const [y, mean, rstd, gate] = tf.engine().runKernel('VsdlabGroupNorm', { x, gamma, beta }, attrs) as tf.Tensor[];
  assert.equal(gate?.shape.join(','), shape.join(','), 'the forward keeps the gate when asked');
  const common = { dy, x, gamma, beta, mean: mean!, rstd: rstd! };
  const gated = await values(tf.engine().runKernel('VsdlabGroupNormGradGated', { ...common, gate: gate! }, attrs) as tf.Tensor[]);
  const recomputed = await values(tf.engine().runKernel('VsdlabGroupNormGrad', common, attrs) as tf.Tensor[]);
  gated.forEach((g, i) => assertClose(g, recomputed[i]!, `gradient ${i}`, 1e-6));
  tf.dispose([x, gamma, beta, dy, y!, mean!, rstd!, gate!]);
});

test('the ops fall back to the composition where the kernels are not registered', async () => {
  await tf.setBackend('cpu');
  const x = tf.tensor(randomArray(2 * 3 * 3 * 4, 51), [2, 3, 3, 4]);
  const g = tf.tensor(randomArray(4, 52, 1, 1), [4]);
  const b = tf.tensor(randomArray(4, 53), [4]);
  const fused = await values([groupNorm(x, g, b, 2, { silu: true })]);
  unregisterFusedKernels('cpu');
  try {
    assert.equal(fusedKernelsRegistered('cpu'), false);
    const composed = await values([groupNorm(x, g, b, 2, { silu: true })]);
    assertClose(composed[0]!, fused[0]!, 'unregistered: composition');
  } finally {
    registerFusedKernels('cpu');
  }
  assert.ok(fusedKernelsRegistered('cpu'));
  assert.throws(() => groupNorm(x, g, b, 3), /do not split into 3 groups/);
  tf.dispose([x, g, b]);
});

test('fastExp: relative error below 1e-13 over the float32 range, NaN stays NaN, extremes saturate', () => {
  let worst = 0;
  for (let v = -87; v < 88; v += 0.000731) worst = Math.max(worst, Math.abs(fastExp(v) / Math.exp(v) - 1));
  assert.ok(worst < 1e-13, `max relative error ${worst}`);
  assert.ok(Number.isNaN(fastExp(Number.NaN)));
  assert.equal(Math.fround(fastExp(-1e6)), 0);
  assert.equal(Math.fround(fastExp(1e6)), Infinity);
  assert.equal(fastExp(0), 1);
});

const unetConfig: UNetConfig = TINY_UNET;

/** the UNet's output and the gradients of a loss for every parameter */
const unetOutputs = async (config: UNetConfig): Promise<Float32Array[]> => {
  const net = initUNet(config, 7);
  const side = 8 * (config.patchSize ?? 1);
  const x = tf.tensor4d(randomArray(2 * side * side * 3, 61), [2, side, side, 3]);
  const cond = tf.tensor3d(randomArray(2 * 5 * 12, 62), [2, 5, 12]);
  const names = Object.keys(net.params).sort();
  const out = tf.tidy(() => {
    const y = unetForward(net, x, [10, 700], cond);
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(unetForward(net, x, [10, 700], cond))) as tf.Scalar, names.map((n) => net.params[n]!));
    return [y, ...names.map((n) => grads[net.params[n]!.name]!)];
  });
  const result = await values(out);
  tf.dispose([x, cond]);
  disposeParams(net.params);
  return result;
};

test('UNet with and without the fused kernels: same output and parameter gradients within 1e-5', async () => {
  await tf.setBackend('cpu');
  for (const config of [unetConfig, { ...unetConfig, patchSize: 2 }]) {
    const fused = await unetOutputs(config);
    unregisterFusedKernels('cpu');
    let plain: Float32Array[];
    try {
      plain = await unetOutputs(config);
    } finally {
      registerFusedKernels('cpu');
    }
    assert.equal(fused.length, plain.length);
    assertClose(fused[0]!, plain[0]!, `unet output (patch ${config.patchSize ?? 1})`);
    // a parameter's gradient is a sum over the whole batch and image; compare it at its own scale
    fused.slice(1).forEach((g, i) => assertClose(g, plain[i + 1]!, `unet gradient ${i} (patch ${config.patchSize ?? 1})`, 2e-5));
  }
});
