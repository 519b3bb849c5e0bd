import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../../../src/errors.js';
import {
  decodeNpy,
  decodeNpz,
  decodeStatsNpz,
  encodeNpy,
  encodeStatsNpz,
  readStatsNpz,
  writeStatsNpz,
} from '../../../src/metrics/stats/index.js';
import { golden, goldenPath, readGoldenBytes } from './golden-fixtures.js';

const tiny = golden<{ mu: number[]; sigma: number[] }>('tiny');

test('reads statistics numpy wrote with np.savez and np.savez_compressed', () => {
  for (const file of ['tiny_savez.npz', 'tiny_savez_compressed.npz']) {
    const s = decodeStatsNpz(readGoldenBytes(file), file);
    assert.equal(s.dtype, '<f8');
    assert.deepEqual(Array.from(s.mu), tiny.mu, file);
    assert.deepEqual(Array.from(s.sigma), tiny.sigma, file);
  }
  const s32 = readStatsNpz(goldenPath('tiny_float32.npz'));
  assert.equal(s32.dtype, '<f4');
  assert.deepEqual(Array.from(s32.mu), tiny.mu.map(Math.fround));
});

test('.npy encoding is byte-identical to what numpy writes', () => {
  const members = golden<Record<string, string>>('tiny_npy_members');
  assert.deepEqual(Object.keys(members).sort(), ['mu.npy', 'sigma.npy']);
  const mu = Buffer.from(encodeNpy(Float64Array.from(tiny.mu), [8])).toString('hex');
  const sigma = Buffer.from(encodeNpy(Float64Array.from(tiny.sigma), [8, 8])).toString('hex');
  assert.equal(mu, members['mu.npy']);
  assert.equal(sigma, members['sigma.npy']);
});

test('write then read round-trips, stored and deflated, through a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsdlab-npz-'));
  try {
    const stats = { mu: Float64Array.from(tiny.mu), sigma: Float64Array.from(tiny.sigma) };
    for (const compress of [false, true]) {
      const path = join(dir, `s${compress}.npz`);
      await writeStatsNpz(path, stats, compress);
      const back = readStatsNpz(path);
      assert.deepEqual(back.mu, stats.mu);
      assert.deepEqual(back.sigma, stats.sigma);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('numpy-written zip64 members and shapes decode (features.npz)', () => {
  const arrays = decodeNpz(readGoldenBytes('features.npz'));
  assert.deepEqual([...arrays.keys()].sort(), ['a', 'b', 'c', 'd', 'logits']);
  assert.deepEqual(arrays.get('a')!.shape, [200, 64]);
  assert.deepEqual(arrays.get('logits')!.shape, [200, 16]);
  assert.equal(arrays.get('c')!.dtype, '<f4');
});

test('corrupt or incomplete files fail with one clear line', () => {
  const bytes = Uint8Array.from(readGoldenBytes('tiny_savez.npz'));
  bytes[200] = bytes[200]! ^ 0xff; // inside mu.npy's data
  assert.throws(() => decodeStatsNpz(bytes, 'x.npz'), (e: unknown) => e instanceof BadInputError && /CRC-32/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => decodeStatsNpz(new Uint8Array(100), 'y.npz'), (e: unknown) => e instanceof BadInputError && /not a zip archive/.test(e.message));
  const onlyMu = encodeStatsNpz({ mu: Float64Array.of(1), sigma: Float64Array.of(1) });
  assert.doesNotThrow(() => decodeStatsNpz(onlyMu));
  assert.throws(() => encodeStatsNpz({ mu: Float64Array.of(1, 2), sigma: Float64Array.of(1) }), BadInputError);
  assert.throws(() => decodeNpy(new Uint8Array(20)), (e: unknown) => e instanceof BadInputError && /bad magic/.test(e.message));
  assert.throws(() => readStatsNpz(goldenPath('missing.npz')), (e: unknown) => e instanceof BadInputError && e.code === 'STATS_FILE_UNREADABLE');
});

test('fortran-ordered and int arrays decode to C order', () => {
  // a 2x3 '<i4' array stored fortran-order: values 0..5 in C order are [[0,1,2],[3,4,5]]
  const c = encodeNpy(Int32Array.of(0, 3, 1, 4, 2, 5), [2, 3]);
  const text = new TextDecoder('latin1').decode(c).replace("'fortran_order': False", "'fortran_order': True ");
  const f = Uint8Array.from(text, (ch) => ch.charCodeAt(0));
  const arr = decodeNpy(f);
  assert.equal(arr.dtype, '<i4');
  assert.deepEqual(Array.from(arr.data), [0, 1, 2, 3, 4, 5]);
});
