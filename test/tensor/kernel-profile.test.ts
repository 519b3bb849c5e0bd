// VSDLAB_PROFILE's kernel timer: every kernel of the backend is counted once per call, a kernel's time excludes
// the kernels it calls through the registry, wrapping twice does not count twice, and results are unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/backend.js';
import { kernelProfileSince, kernelProfileSnapshot, profileKernels } from '../../src/tensor/kernel-profile.js';

test('the kernel profile counts each kernel call once, per kernel name, between two snapshots', async () => {
  await selectBackend('cpu');
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const want = Array.from(tf.matMul(tf.add(x, x), x).dataSync());
  profileKernels('cpu');
  profileKernels('cpu'); // idempotent: a kernel is wrapped once
  const before = kernelProfileSnapshot();
  const y = tf.matMul(tf.add(x, x), x);
  assert.deepEqual(Array.from(y.dataSync()), want);
  tf.add(x, 1).dataSync();
  const ran = kernelProfileSince(before);
  assert.equal(ran.Add?.calls, 2);
  assert.equal(ran.BatchMatMul?.calls, 1);
  for (const k of Object.values(ran)) assert.ok(k.ms >= 0 && Number.isFinite(k.ms));
  // nothing ran since the last snapshot
  assert.deepEqual(kernelProfileSince(kernelProfileSnapshot()), {});
});
