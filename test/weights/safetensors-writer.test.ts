// The streaming safetensors writer: a file the reader (which validates as the reference library does) accepts,
// aligned data, and nothing left behind when a tensor's bytes do not fit its shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensorsFile } from '../../src/weights/safetensors-writer.js';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { tempDir } from '../helpers/temp.js';

const f32 = (values: number[]) => () => new Uint8Array(new Float32Array(values).buffer);

test('tensors in name order, 8-byte aligned data, metadata kept, values read back', () => {
  const dir = tempDir();
  const path = join(dir, 'w.safetensors');
  writeSafetensorsFile(path, { 'b.weight': { dtype: 'F32', shape: [3], bytes: f32([1, 2, 3]) }, 'a.weight': { dtype: 'F32', shape: [1, 2], bytes: f32([4, 5]) } }, { format: 'pt' });
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: number[] }>;
  assert.deepEqual(header['a.weight']!.data_offsets, [0, 8]);
  assert.deepEqual(header['b.weight']!.data_offsets, [8, 20]);
  const view = openSafetensors(path);
  assert.deepEqual(view.metadata, { format: 'pt' });
  assert.deepEqual([...view.read('b.weight').values], [1, 2, 3]);
  view.close();
  assert.deepEqual(readdirSync(dir), ['w.safetensors']);
});

test('bytes that do not fit the shape: an error naming the tensor, and no file', () => {
  const dir = tempDir();
  assert.throws(() => writeSafetensorsFile(join(dir, 'w.safetensors'), { x: { dtype: 'F32', shape: [2, 2], bytes: f32([1, 2, 3]) } }), /x has 12 bytes.*needs 16/);
  assert.deepEqual(readdirSync(dir), []);
});
