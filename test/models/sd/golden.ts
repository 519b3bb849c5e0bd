// Reading the goldens of test/golden/sd (made by tools/sd/make_sd_goldens.py with diffusers, open_clip and torch).
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fromRoot } from '../../helpers/paths.js';

interface GoldenTensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: number[];
}

export interface Golden {
  meta: Record<string, unknown>;
  tensors: Record<string, GoldenTensor>;
}

export const readGolden = (name: string): Golden => JSON.parse(readFileSync(fromRoot('test/golden/sd', `${name}.json`), 'utf8')) as Golden;

export function goldenTensor(g: Golden, name: string): GoldenTensor {
  const t = g.tensors[name];
  assert.ok(t, `golden tensor ${name} missing`);
  return t;
}

/** a golden NCHW tensor as channels-last [B, H, W, C] */
export const nhwc = (g: Golden, name: string): tf.Tensor4D => {
  const t = goldenTensor(g, name);
  return tf.tensor4d(Float32Array.from(t.data), t.shape as [number, number, number, number]).transpose([0, 2, 3, 1]);
};

export const tensorOf = (g: Golden, name: string): tf.Tensor => {
  const t = goldenTensor(g, name);
  return t.dtype === 'int64' ? tf.tensor(Int32Array.from(t.data), t.shape, 'int32') : tf.tensor(Float32Array.from(t.data), t.shape);
};

/** max |actual − expected| relative to max |expected|; the bar for the architectures is 1e-4 */
export function relativeError(actual: tf.Tensor, expected: tf.Tensor): number {
  assert.deepEqual(actual.shape, expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (e[i] as number)));
    scale = Math.max(scale, Math.abs(e[i] as number));
  }
  return diff / scale;
}
