import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CHECKSUM_KEY, decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../../src/weights/safetensors.js';
import { BadInputError } from '../../src/errors.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

await tf.setBackend('cpu');

test('reads a safetensors file written by an independent (numpy) writer', () => {
  const { tensors, metadata } = loadSafetensors(fromRoot('test/golden/weights/small.safetensors'));
  const expected = JSON.parse(readFileSync(fromRoot('test/golden/weights/small.json'), 'utf8')) as Record<string, number[][]>;
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(tensors['layer.a']?.arraySync(), expected['layer.a']!.map((r) => r.map((v) => Math.fround(v))));
  assert.deepEqual(tensors['layer.b']?.arraySync(), expected['layer.b']);
  assert.equal(tensors['layer.b']?.dtype, 'int32');
});

test('round trip keeps names, shapes, dtypes, values and metadata; the header is 8-byte aligned', async () => {
  const path = join(tempDir(), 'w.safetensors');
  const w = { 'x.w': tf.randomNormal([3, 5, 2]), 'x.step': tf.tensor1d([7], 'int32') };
  await saveSafetensors(path, w, { step: '7' });
  const bytes = readFileSync(path);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  const back = loadSafetensors(path);
  const sum = back.metadata[CHECKSUM_KEY];
  assert.match(sum ?? '', /^[0-9a-f]{64}$/, 'a checksum of the values joins the metadata');
  assert.deepEqual(back.metadata, { step: '7', [CHECKSUM_KEY]: sum });
  assert.deepEqual(Array.from(back.tensors['x.w']!.dataSync()), Array.from(w['x.w'].dataSync()));
  assert.deepEqual(back.tensors['x.w']!.shape, [3, 5, 2]);
  assert.equal(back.tensors['x.step']!.dtype, 'int32');
  assert.deepEqual(encodeSafetensors(w, { step: '7', [CHECKSUM_KEY]: sum! }), new Uint8Array(bytes), 'deterministic bytes');
});

test('a truncated file is a clear error naming it', () => {
  const path = join(tempDir(), 'cut.safetensors');
  writeFileSync(path, readFileSync(fromRoot('test/golden/weights/small.safetensors')).subarray(0, 40));
  assert.throws(() => loadSafetensors(path), (e: unknown) => e instanceof BadInputError && e.message.startsWith(path));
  assert.throws(() => decodeSafetensors(new Uint8Array(3)), /too short/);
});
