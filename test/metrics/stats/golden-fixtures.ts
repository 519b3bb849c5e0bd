// loads the committed goldens of test/golden/metrics-stats (made by make_goldens.py with numpy/scipy).
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { fromRoot } from '../../helpers/paths.js';
import { decodeNpz, featureMatrix, type FeatureMatrix } from '../../../src/metrics/stats/index.js';

export const goldenPath = (...parts: string[]): string => fromRoot('test', 'golden', 'metrics-stats', ...parts);

export function readGoldenBytes(name: string): Uint8Array {
  return readFileSync(goldenPath(name));
}

// each test states the shape it expects from its key (see golden())
export const goldens = JSON.parse(readFileSync(goldenPath('goldens.json'), 'utf8')) as Record<string, unknown>;

export function golden<T>(key: string): T {
  const v = goldens[key];
  assert.notEqual(v, undefined, `goldens.json has no ${key}`);
  return v as T;
}

let cachedFeatures: Map<string, FeatureMatrix> | undefined;

/** a, b (200 x 64), c, d (40 x 64), logits (200 x 16), float32 as numpy wrote them. */
export function goldenFeatures(name: 'a' | 'b' | 'c' | 'd' | 'logits'): FeatureMatrix {
  if (cachedFeatures === undefined) {
    cachedFeatures = new Map();
    for (const [key, arr] of decodeNpz(readGoldenBytes('features.npz'), 'features.npz')) {
      cachedFeatures.set(key, featureMatrix(arr.data as Float32Array, arr.shape[1]!));
    }
  }
  const m = cachedFeatures.get(name);
  assert.ok(m !== undefined, `features.npz has no ${name}`);
  return m;
}

export function expectedArray(name: string): Float64Array {
  const arr = decodeNpz(readGoldenBytes('expected.npz'), 'expected.npz').get(name);
  assert.ok(arr !== undefined, `expected.npz has no ${name}`);
  return arr.data as Float64Array;
}

export function relErr(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
}

export function assertClose(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(relErr(actual, expected) <= rel, `${what}: ${actual} vs ${expected} (relative error ${relErr(actual, expected).toExponential(2)} > ${rel})`);
}

/** max over i of |a_i - e_i| / max|e| (relative to the array's scale). */
export function maxScaledErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'array lengths differ');
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
  return err / scale;
}
