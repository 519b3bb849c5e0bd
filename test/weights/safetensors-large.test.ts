// A checkpoint larger than Node's 2 GiB readFileSync limit, without the disk: the file is sparse (ftruncate leaves
// holes that cost no blocks), its big filler tensors are holes, and the tensors after the 2 GiB and 4 GiB marks
// are real bytes read by position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readFileSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensorsHeader } from '../../src/weights/safetensors.js';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { tempDir } from '../helpers/temp.js';
import { bytesOf } from '../helpers/safetensors-files.js';

const GiB = 2 ** 30;

test('tensors stored after the 2 GiB and 4 GiB marks read exactly, without reading the file whole', (t) => {
  const dir = tempDir();
  const fs = statfsSync(dir);
  if (fs.bavail * fs.bsize < 6 * GiB) return t.skip('less than 6 GiB free: a file system without sparse files could need it');
  const mid = new Float32Array([1.5, -2.25, 3e-5, 65504]);
  const tail = new Float32Array([Math.PI, -0, 7, 1e30].map(Math.fround));
  // names sort in offset order: a0 (hole) | a1_mid | a2 (hole) | a3_tail
  const { header, offsets, dataBytes } = encodeSafetensorsHeader({
    a0: { dtype: 'F32', shape: [GiB / 2 + 8], byteLength: 2 * GiB + 32 },
    a1_mid: { dtype: 'F32', shape: [4], byteLength: 16 },
    a2: { dtype: 'F32', shape: [GiB / 2], byteLength: 2 * GiB },
    a3_tail: { dtype: 'F32', shape: [2, 2], byteLength: 16 },
  });
  const path = join(dir, 'big.safetensors');
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header, 0, header.length, 0);
    ftruncateSync(fd, header.length + dataBytes);
    writeSync(fd, bytesOf(mid), 0, 16, header.length + offsets.get('a1_mid')!);
    writeSync(fd, bytesOf(tail), 0, 16, header.length + offsets.get('a3_tail')!);
  } finally {
    closeSync(fd);
  }
  assert.ok(header.length + offsets.get('a1_mid')! > 2 * GiB && header.length + offsets.get('a3_tail')! > 4 * GiB);
  assert.throws(() => readFileSync(path), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ERR_FS_FILE_TOO_LARGE', 'the whole-file read this replaces cannot open it');

  const rss = process.memoryUsage().rss;
  const view = openSafetensors(path);
  try {
    assert.deepEqual(view.info('a2')?.shape, [GiB / 2]);
    assert.deepEqual(Array.from(view.read('a1_mid').values), Array.from(mid));
    const t3 = view.read('a3_tail');
    assert.deepEqual(t3.shape, [2, 2]);
    assert.deepEqual(Array.from(t3.values), Array.from(tail));
    assert.ok(Object.is(t3.values[1], -0));
  } finally {
    view.close();
  }
  assert.ok(process.memoryUsage().rss - rss < 256 * 2 ** 20, 'reading two small tensors did not load gigabytes');
});
