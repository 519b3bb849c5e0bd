import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, registerFastKernels, unregisterFastKernels } from '../../src/tensor/index.js';
import { collapsePermutation, transposeBits, transposePlan } from '../../src/tensor/heap-transpose.js';
import { columnSumGeometry, columnSumsInto } from '../../src/tensor/heap-column-sum.js';
import { rng } from '../helpers/random-arrays.js';

// the strided-copy Transpose and the column-sum Sum must give the backend's own kernels' outputs bit for bit:
// every step shape, random shapes and permutations, float32 / int32 / bool, keepDims, values of many magnitudes
// (so that any other summation order shows in the last bits), and signed zeros.

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** float32 values u·2^e, e in [-12, 12]: sums of these change bits when their order changes */
const spread = (n: number, seed: number): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 ** Math.round(next() * 24));
};

interface Out {
  shape: number[];
  dtype: string;
  bits: number[];
}
const bitsOf = (t: tf.Tensor): Out => {
  const data = t.dataSync();
  const bits = data instanceof Float32Array ? Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)) : Array.from(data as Int32Array | Uint8Array);
  return { shape: t.shape, dtype: t.dtype, bits };
};
const run = (fn: () => tf.Tensor[]): Out[] => {
  const outs = tf.tidy(fn);
  const got = outs.map(bitsOf);
  tf.dispose(outs);
  return got;
};

/** fn's outputs on `backend` with the fast kernels registered, then with the backend's originals */
const bothWays = (backend: string, fn: () => tf.Tensor[]): [Out[], Out[]] => {
  const routed = run(fn);
  unregisterFastKernels(backend);
  try {
    return [routed, run(fn)];
  } finally {
    registerFastKernels(backend);
  }
};

const tensor = (shape: number[], seed: number, dtype: 'float32' | 'int32' | 'bool' = 'float32'): tf.Tensor => {
  const v = spread(size(shape), seed);
  if (dtype === 'float32') return tf.tensor(v, shape);
  return tf.tensor(Array.from(v, (x) => (dtype === 'bool' ? (x > 0 ? 1 : 0) : Math.round(x * 1000))), shape, dtype);
};

// the step's transposes (kernel census of the vsd-step bench): head split/merge, filter-gradient layouts
const STEP_TRANSPOSES: [number[], number[]][] = [
  [[16, 16, 4, 8], [0, 2, 1, 3]],
  [[16, 4, 16, 8], [0, 2, 1, 3]],
  [[16, 4, 24, 8], [0, 2, 1, 3]],
  [[16, 24, 4, 8], [0, 2, 1, 3]],
  [[256, 2, 16, 6], [0, 2, 1, 3]],
  [[256, 16, 2, 6], [0, 2, 1, 3]],
  [[16, 16, 16, 16], [1, 2, 0, 3]],
  [[16, 16, 16, 16], [3, 1, 2, 0]],
  [[16, 16, 16, 48], [3, 1, 2, 0]],
  [[32, 3, 3, 32], [1, 2, 0, 3]],
  [[64, 1, 1, 32], [1, 2, 0, 3]],
  [[16, 4, 4, 64], [3, 1, 2, 0]],
  [[256, 256], [1, 0]],
  [[16, 256, 32], [0, 2, 1]],
];

// the step's sums: bias gradients over leading axes, GroupNorm's over the middle, and innermost ones (original kept)
const STEP_SUMS: [number[], number[]][] = [
  [[256, 256], [0]],
  [[256, 32], [0]],
  [[16, 32], [0]],
  [[16, 8, 8, 32], [0, 1, 2]],
  [[16, 8, 8, 32], [1, 2]],
  [[16, 16, 16, 16], [0, 1, 2]],
  [[16, 4, 4, 32], [1, 2]],
  [[16, 16, 16, 12], [0, 1, 2]],
  [[16, 4, 16, 16], [3]],
];

const shuffled = (n: number, next: () => number): number[] => {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((next() + 0.5) * (i + 1));
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
};

/** random shapes of rank 1-5 with some size-1 axes (axes up to `most` long), and a random permutation each */
const randomTransposes = (count: number, seed: number, most = 9): [number[], number[]][] => {
  const next = rng(seed);
  return Array.from({ length: count }, () => {
    const rank = 1 + Math.floor((next() + 0.5) * 5);
    const shape = Array.from({ length: rank }, () => (next() < -0.3 ? 1 : 1 + Math.floor((next() + 0.5) * most)));
    return [shape, shuffled(rank, next)];
  });
};

test('collapsePermutation merges neighbouring axes and drops size-1 axes', () => {
  assert.deepEqual(collapsePermutation([16, 16, 16, 16], [1, 2, 0, 3]), { shape: [16, 256, 16], perm: [1, 0, 2] });
  assert.deepEqual(collapsePermutation([16, 16, 16, 16], [3, 1, 2, 0]), { shape: [16, 256, 16], perm: [2, 1, 0] });
  assert.deepEqual(collapsePermutation([16, 16, 4, 8], [0, 2, 1, 3]), { shape: [16, 16, 4, 8], perm: [0, 2, 1, 3] });
  assert.deepEqual(collapsePermutation([64, 1, 1, 32], [1, 2, 0, 3]), { shape: [2048], perm: [0] });
  assert.deepEqual(collapsePermutation([2, 1, 3], [2, 1, 0]), { shape: [2, 3], perm: [1, 0] });
});

test('the transpose cases reach both block paths of assembly/transpose.ts, with and without ragged edges, and wasm\'s kernel', () => {
  const paths = new Map<string, number>();
  for (const [shape, perm] of [...STEP_TRANSPOSES, ...randomTransposes(300, 7)]) {
    const p = transposePlan(shape, perm);
    const key = p === undefined ? 'wasm kernel' : `${p.outerInner ? 'outer-inner blocks' : 'blocks'}${p.n0 % 4 === 0 && p.nq % 4 === 0 ? '' : ' + edges'}`;
    paths.set(key, (paths.get(key) ?? 0) + 1);
  }
  for (const key of ['wasm kernel', 'blocks', 'blocks + edges', 'outer-inner blocks', 'outer-inner blocks + edges']) assert.ok((paths.get(key) ?? 0) >= 3, `${key}: ${paths.get(key) ?? 0} cases`);
});

test('columnSumGeometry: only a run of increasing axes that is not innermost', () => {
  assert.deepEqual(columnSumGeometry([256, 32], [0]), { outer: 1, rows: 256, cols: 32, axes: [0] });
  assert.deepEqual(columnSumGeometry([16, 8, 8, 32], [1, 2]), { outer: 16, rows: 64, cols: 32, axes: [1, 2] });
  assert.deepEqual(columnSumGeometry([16, 8, 8, 32], [-4, 1, 2]), { outer: 1, rows: 1024, cols: 32, axes: [0, 1, 2] });
  assert.equal(columnSumGeometry([16, 8, 8, 32], [3]), undefined, 'innermost: wasm sums without a transpose');
  assert.equal(columnSumGeometry([16, 8, 8, 32], [0, 2]), undefined, 'not one run');
  assert.equal(columnSumGeometry([16, 8, 8, 32], [2, 1]), undefined, 'decreasing: wasm sums in that order');
  assert.equal(columnSumGeometry([16, 8], []), undefined);
});

test('strided-copy Transpose and column-sum Sum equal the backends\' kernels bit for bit', async (t) => {
  await selectBackend('wasm');

  await t.test('transpose: the block kernel on the step shapes and 300 random shapes and permutations', () => {
    unregisterFastKernels('wasm');
    try {
      let ran = 0;
      [...STEP_TRANSPOSES, ...randomTransposes(300, 7)].forEach(([shape, perm], i) => {
        const x = tensor(shape, 100 + i);
        const got = transposeBits(new Int32Array((x.dataSync() as Float32Array).buffer.slice(0)), shape, perm);
        const want = tf.transpose(x, perm);
        if (got !== undefined) {
          ran++;
          assert.deepEqual(Array.from(got), bitsOf(want).bits.map((b) => b | 0), `transpose [${shape}] by [${perm}]`);
        }
        tf.dispose([x, want]);
      });
      assert.ok(ran >= 100, `${ran} cases ran the kernel`);
    } finally {
      registerFastKernels('wasm');
    }
  });

  await t.test('transpose: the routed kernel on the step shapes and random shapes up to 250,000 elements', () => {
    const cases = [...STEP_TRANSPOSES, ...randomTransposes(800, 8, 24).filter(([shape]) => size(shape) <= 250_000)];
    // the route takes the kernel from 32,768 elements where the innermost axis moves
    const routed = cases.filter(([shape, perm]) => size(shape) >= 32768 && transposePlan(shape, perm) !== undefined).length;
    assert.ok(routed >= 30, `${routed} cases take the kernel`);
    cases.forEach(([shape, perm], i) => {
      const [got, want] = bothWays('wasm', () => [tf.transpose(tensor(shape, 100 + i), perm)]);
      assert.deepEqual(got, want, `transpose [${shape}] by [${perm}]`);
    });
  });

  await t.test('transpose: int32, bool, NaN and signed-zero bits, empty and scalar-like inputs', () => {
    for (const dtype of ['int32', 'bool'] as const) {
      for (const [shape, perm] of [...STEP_TRANSPOSES.slice(0, 9), ...randomTransposes(40, 11, 24)]) {
        const [got, want] = bothWays('wasm', () => [tf.transpose(tensor(shape, 5, dtype), perm)]);
        assert.deepEqual(got, want, `transpose ${dtype} [${shape}] by [${perm}]`);
      }
    }
    // a signalling-NaN payload and -0 are copied as bits, never through a float
    const bits = new Uint32Array(40000);
    bits.set([0x7fa00001, 0x80000000, 0xffc12345, 0x3f800000, 0x00000001, 0x7f800000]);
    const [got, want] = bothWays('wasm', () => [tf.transpose(tf.tensor(new Float32Array(bits.buffer), [200, 200]), [1, 0])]);
    assert.deepEqual(got, want, 'NaN payloads and signed zeros');
    for (const [shape, perm] of [[[0, 3], [1, 0]], [[1, 1], [1, 0]], [[3, 1, 4], [0, 2, 1]], [[5], [0]]] as [number[], number[]][]) {
      const [g, w] = bothWays('wasm', () => [tf.transpose(tensor(shape, 3), perm)]);
      assert.deepEqual(g, w, `transpose [${shape}] by [${perm}]`);
    }
  });

  await t.test('transpose: the wasm route gives the cpu backend\'s values', async () => {
    for (const [shape, perm] of [...STEP_TRANSPOSES, ...randomTransposes(60, 13)]) {
      const onWasm = run(() => [tf.transpose(tensor(shape, 9), perm)]);
      await tf.setBackend('cpu');
      const onCpu = run(() => [tf.transpose(tensor(shape, 9), perm)]);
      await tf.setBackend('wasm');
      assert.deepEqual(onWasm, onCpu, `transpose [${shape}] by [${perm}] on cpu`);
    }
  });

  await t.test('sum: the step shapes, random leading and middle runs, keepDims, long columns of mixed magnitudes', () => {
    const next = rng(17);
    const random: [number[], number[]][] = Array.from({ length: 200 }, () => {
      const rank = 2 + Math.floor((next() + 0.5) * 4);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor((next() + 0.5) * 12));
      const first = Math.floor((next() + 0.5) * (rank - 1));
      const last = first + Math.floor((next() + 0.5) * (rank - 1 - first));
      return [shape, Array.from({ length: last - first + 1 }, (_, k) => first + k)];
    });
    const long: [number[], number[]][] = [[[4099, 5], [0]], [[3, 2000, 7], [1]], [[1000, 1], [0]]];
    [...STEP_SUMS, ...random, ...long].forEach(([shape, axes], i) => {
      for (const keepDims of [false, true]) {
        const [got, want] = bothWays('wasm', () => [tf.sum(tensor(shape, 200 + i), axes, keepDims)]);
        assert.deepEqual(got, want, `sum [${shape}] over [${axes}] keepDims ${keepDims}`);
      }
    });
  });

  await t.test('sum: the order argument in plain JS: in-order float32 column sums give wasm\'s transposed row sums', () => {
    unregisterFastKernels('wasm');
    try {
      for (const [shape, axes] of [...STEP_SUMS.slice(0, 8), [[4099, 5], [0]], [[3, 2000, 7], [1]]] as [number[], number[]][]) {
        const g = columnSumGeometry(shape, axes);
        assert.ok(g !== undefined);
        const x = tensor(shape, 77);
        const want = tf.sum(x, axes);
        const got = new Float32Array(g.outer * g.cols);
        columnSumsInto(x.dataSync() as Float32Array, g.outer, g.rows, g.cols, got);
        assert.deepEqual(Array.from(new Uint32Array(got.buffer)), bitsOf(want).bits, `sum [${shape}] over [${axes}]`);
        tf.dispose([x, want]);
      }
    } finally {
      registerFastKernels('wasm');
    }
  });

  await t.test('sum: negative zeros sum to +0 as wasm\'s sum from 0 does; int32, unsorted axes and gradients keep their kernels', () => {
    const zeros = new Float32Array(12).fill(-0);
    zeros[5] = 1.5;
    let [got, want] = bothWays('wasm', () => [tf.sum(tf.tensor(zeros, [4, 3]), 0), tf.sum(tf.tensor(zeros, [2, 2, 3]), [0, 1])]);
    assert.deepEqual(got, want, '-0 columns');
    assert.equal(got[0]?.bits[0], 0, '+0, not -0');
    [got, want] = bothWays('wasm', () => [tf.sum(tensor([6, 5, 4], 3, 'int32'), [0, 1]), tf.sum(tensor([6, 5, 4], 4), [1, 0]), tf.sum(tensor([6, 5, 4], 4), [0, 2])]);
    assert.deepEqual(got, want, 'int32, unsorted, split axes');
    // a bias gradient through the tape: Sum over [0, 1, 2] of dy, as in every conv layer's backward pass
    [got, want] = bothWays('wasm', () => {
      const x = tensor([8, 6, 6, 16], 31);
      const b = tensor([16], 32);
      const g = tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(xx, bb), tf.add(xx, bb))));
      return g([x, b]);
    });
    assert.deepEqual(got, want, 'bias gradient');
  });

  await t.test('on the cpu backend the routes leave its kernels as they are', async () => {
    await tf.setBackend('cpu');
    registerFastKernels('cpu');
    try {
      for (const [shape, perm] of STEP_TRANSPOSES.slice(0, 6)) {
        const [got, want] = bothWays('cpu', () => [tf.transpose(tensor(shape, 2), perm)]);
        assert.deepEqual(got, want, `cpu transpose [${shape}] by [${perm}]`);
      }
      for (const [shape, axes] of STEP_SUMS) {
        const [got, want] = bothWays('cpu', () => [tf.sum(tensor(shape, 4), axes)]);
        assert.deepEqual(got, want, `cpu sum [${shape}] over [${axes}]`);
      }
    } finally {
      unregisterFastKernels('cpu');
      await tf.setBackend('wasm');
    }
  });
});
