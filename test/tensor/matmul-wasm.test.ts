import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, registerFastKernels, unregisterFastKernels } from '../../src/tensor/index.js';
import { captureKernel, type KernelCall } from '../../src/tensor/kernel-calls.js';
import { routeMatMul, setMatMulKernels } from '../../src/tensor/fast-matmul.js';
import { wasmBatchMatMul, wasmTransposeLastTwo } from '../../src/tensor/wasm-batch-matmul.js';
import { isWasmHeapBackend } from '../../src/tensor/wasm-heap.js';

// the SIMD kernel (assembly/matmul.ts) must give tfjs-backend-wasm's naive batched loop's float32 bits exactly

const rng = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
};
/** values over many magnitudes and both signs, some zeros, -0 and subnormals: any change of summation order shows */
const values = (n: number, seed: number): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.02) return 0;
    if (u < 0.04) return -0;
    if (u < 0.05) return (next() - 0.5) * 1e-39;
    return (next() - 0.5) * 2 ** Math.floor(next() * 24 - 12);
  });
};
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const bits = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** index and values of the first output whose bits differ, or undefined */
const firstDifference = (got: Float32Array, want: Float32Array): string | undefined => {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  const g = bits(got);
  const w = bits(want);
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return `output ${i}: ${got[i]} vs ${want[i]}`;
  return undefined;
};

// [a shape, b shape, transposeA, transposeB]
type Case = [number[], number[], boolean, boolean];

// the products a VSD step at the embedded width sends to the naive loop (head dim 8, 16 tokens, 24 text tokens,
// batch 16 and its guidance pair 32, 4 heads): attention scores, attn·v, and the gradients' transposed products
const MODEL: Case[] = [
  [[16, 4, 16, 8], [16, 4, 16, 8], false, true],
  [[16, 4, 16, 16], [16, 4, 16, 8], false, false],
  [[16, 4, 16, 16], [16, 4, 16, 8], true, false],
  [[16, 4, 16, 24], [16, 4, 16, 8], true, false],
  [[16, 4, 16, 8], [16, 4, 24, 8], false, true],
  [[16, 4, 16, 24], [16, 4, 24, 8], false, false],
  [[32, 4, 16, 8], [32, 4, 24, 8], false, true],
  [[32, 4, 16, 8], [32, 4, 16, 8], false, true],
  [[32, 4, 16, 24], [32, 4, 24, 8], false, false],
  [[32, 4, 16, 16], [32, 4, 16, 8], false, false],
  [[1, 4, 1, 8], [1, 4, 1, 8], false, true],
  [[1, 4, 1, 1], [1, 4, 1, 8], false, false],
];

// odd sizes (tails of every tile), k across the loop's 48-term blocks, broadcasting (one side a single matrix,
// and the backend's modulo indexing beyond that), every transpose combination, one-matrix transposed products
const ODD: Case[] = [];
for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [5, 13, 11], [7, 48, 9], [6, 49, 17], [9, 97, 6], [2, 150, 3], [17, 3, 33], [4, 8, 4], [8, 100, 28], [5, 60, 31]] as const) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = ta ? [k, m] : [m, k];
      const b = tb ? [n, k] : [k, n];
      ODD.push([[3, ...a], [3, ...b], ta, tb], [[2, 2, ...a], b, ta, tb], [a, [5, ...b], ta, tb]);
      if (ta || tb) ODD.push([a, b, ta, tb]);
    }
  }
}
ODD.push([[2, 1, 3, 5], [2, 2, 5, 4], false, false], [[2, 1, 6, 4], [2, 3, 6, 7], true, false]);

const tensorOn = (backend: tf.KernelBackend, data: Float32Array, shape: number[]): tf.TensorInfo => ({ dataId: backend.write(data, shape, 'float32'), shape, dtype: 'float32' });

const read = (backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array => Float32Array.from(backend.readSync(info.dataId) as Float32Array);

test('the SIMD batched matMul on wasm', async (t) => {
  await selectBackend('wasm');
  const backend = tf.backend();
  assert.ok(isWasmHeapBackend(backend));
  // the backend's own BatchMatMul, as registered before the fast kernels
  unregisterFastKernels('wasm');
  const original = captureKernel(tf.BatchMatMul, 'wasm') as KernelCall;
  registerFastKernels('wasm');
  assert.ok(original !== undefined);

  const check = (cases: readonly Case[], seed: number): void => {
    cases.forEach(([sa, sb, ta, tb], c) => {
      const a = tensorOn(backend, values(size(sa), seed + 2 * c), sa);
      const b = tensorOn(backend, values(size(sb), seed + 2 * c + 1), sb);
      const want = original({ a, b }, { transposeA: ta, transposeB: tb }, backend);
      const got = wasmBatchMatMul(a, b, ta, tb, want.shape, backend);
      assert.deepEqual(got.shape, want.shape);
      const diff = firstDifference(read(backend, got), read(backend, want));
      assert.equal(diff, undefined, `[${sa}]${ta ? 'ᵀ' : ''} · [${sb}]${tb ? 'ᵀ' : ''}: ${diff}`);
      for (const x of [a, b, got, want]) backend.disposeData(x.dataId);
    });
  };

  await t.test("the model's attention products: the backend kernel's bits", () => check(MODEL, 1));
  await t.test('odd sizes, k across 48-term blocks, broadcast batches, every transpose: the same bits', () => check(ODD, 1000));

  await t.test("the SIMD transpose of the last two axes: the backend Transpose's values, every size", () => {
    const transpose = captureKernel(tf.Transpose, 'wasm') as KernelCall;
    const shapes = [[256, 32], [256, 256], [1, 7], [7, 1], [5, 9], [3, 4, 8], [2, 3, 13, 6], [16, 64], [33, 17], [37, 45], [3, 2, 22, 38]];
    shapes.forEach((shape, c) => {
      const x = tensorOn(backend, values(size(shape), 300 + c), shape);
      const perm = shape.map((_, i) => (i < shape.length - 2 ? i : 2 * shape.length - 3 - i));
      const want = transpose({ x }, { perm }, backend);
      const got = wasmTransposeLastTwo(x, backend);
      assert.deepEqual(got.shape, want.shape);
      assert.equal(firstDifference(read(backend, got), read(backend, want)), undefined, `[${shape}]`);
      for (const y of [x, got, want]) backend.disposeData(y.dataId);
    });
  });

  await t.test('the router sends the naive-loop products to it, and the others where they went', () => {
    const calls: { a: number[]; b: number[]; transposeA: unknown; transposeB: unknown }[] = [];
    const spy: KernelCall = (inputs, attrs, be) => {
      calls.push({ a: inputs['a']!.shape, b: inputs['b']!.shape, transposeA: attrs['transposeA'], transposeB: attrs['transposeB'] });
      return original(inputs, attrs, be);
    };
    const routed = routeMatMul(spy, 'wasm');
    const run = (sa: number[], sb: number[], ta: boolean, tb: boolean): void => {
      const a = tensorOn(backend, values(size(sa), 5), sa);
      const b = tensorOn(backend, values(size(sb), 6), sb);
      const out = routed({ a, b }, { transposeA: ta, transposeB: tb }, backend);
      for (const x of [a, b, out]) backend.disposeData(x.dataId);
    };
    // tiny batched products and general broadcasting: the SIMD kernel, the backend kernel is not called
    for (const [sa, sb, ta, tb] of [...MODEL, [[2, 1, 3, 5], [2, 2, 5, 4], false, false] as Case]) run(sa, sb, ta, tb);
    assert.deepEqual(calls, []);
    // one transposed product stays on xnnpack (its transpose materialised); big batched products, one per entry
    run([20, 30], [40, 30], false, true);
    assert.deepEqual(calls, [{ a: [20, 30], b: [30, 40], transposeA: false, transposeB: false }]);
    calls.length = 0;
    run([3, 20, 30], [3, 30, 40], false, false);
    assert.equal(calls.length, 3);
    // the switch back to the backend's kernel (benchmarks): the transposes materialised, then its batched loop
    calls.length = 0;
    setMatMulKernels('backend');
    try {
      run([16, 4, 16, 8], [16, 4, 16, 8], false, true);
    } finally {
      setMatMulKernels('simd');
    }
    assert.deepEqual(calls, [{ a: [16, 4, 16, 8], b: [16, 4, 8, 16], transposeA: false, transposeB: false }]);
  });

  await t.test('attention forward and gradients through tf ops: the same bits as the backend kernel', () => {
    const q = tf.tensor(values(16 * 4 * 16 * 8, 11), [16, 4, 16, 8]);
    const k = tf.tensor(values(16 * 4 * 24 * 8, 12), [16, 4, 24, 8]);
    const v = tf.tensor(values(16 * 4 * 24 * 8, 13), [16, 4, 24, 8]);
    const attention = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor): tf.Tensor => tf.matMul(tf.softmax(tf.matMul(qq, kk, false, true).mul(0.35)), vv).square().sum();
    const run = (): Float32Array[] => tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads(attention)([q, k, v]);
      return [value, ...grads].map((x) => x.dataSync() as Float32Array);
    });
    const simd = run();
    setMatMulKernels('backend');
    let reference: Float32Array[];
    try {
      reference = run();
    } finally {
      setMatMulKernels('simd');
    }
    simd.forEach((got, i) => assert.equal(firstDifference(got, reference[i]!), undefined, `output ${i}`));
    tf.dispose([q, k, v]);
  });
});
