import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wasmModule } from '../../src/tensor/wasm-module.js';

interface Smoke {
  scale(x: number, y: number, n: number, k: number): void;
}

test('a compiled kernel module runs on the blocks the loader lays out, above its static data, across memory growth', () => {
  const m = wasmModule<Smoke>('smoke');
  const n = 5;
  const [x, y] = m.layout([n, n]) as [number, number];
  assert.equal(x % 16, 0);
  assert.ok(y >= x + 4 * n);
  m.f32(x, n).set([1, -2, 3.5, 4, 1e-3]);
  m.exports.scale(x, y, n, 0.25);
  assert.deepEqual([...m.f32(y, n)], [0.25, -0.5, 0.875, 1, Math.fround(Math.fround(1e-3) * 0.25)]);
  // a layout bigger than the memory grows it (5 M floats = 20 MB), and views fetched after it see the new buffer
  const big = 5_000_000;
  const [a, b] = m.layout([big, big]) as [number, number];
  m.f32(a, big).fill(2);
  m.exports.scale(a, b, big, 3);
  const out = m.f32(b, big);
  assert.equal(out[0], 6);
  assert.equal(out[big - 1], 6);
});

test('a missing module is one clear error naming the build step', () => {
  assert.throws(() => wasmModule('no-such-kernels'), /run npm run build/);
});
