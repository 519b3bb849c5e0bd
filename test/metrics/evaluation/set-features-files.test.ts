import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFeaturesThroughFile } from '../../../src/metrics/evaluation/set-features-files.js';
import { featureMatrix } from '../../../src/metrics/stats/index.js';
import { evaluationThreads } from '../../../src/metrics/evaluation/evaluation-threads.js';
import { tempDir } from '../../helpers/temp.js';

const key = { extractorSha256: 'a'.repeat(64), mode: 'clean' as const, output: 'pool', dims: 3 };
const rowsOf = (n: number, base: number): Float32Array => Float32Array.from({ length: n * 3 }, (_, i) => base + i / 7);

function counting(folder: string, base: number) {
  let calls = 0;
  const compute = async () => {
    calls++;
    const n = readdirSync(folder).length;
    return { features: featureMatrix(rowsOf(n, base), 3), summary: { folder, files: n, images: n, skipped: [], cacheHits: 0, dims: 3 } };
  };
  return { compute, calls: () => calls };
}

test('a folder\'s rows are computed once and read back exactly; a changed image, a torn file or another extractor is a miss', async () => {
  const dir = tempDir({ 'imgs/a.png': 'image a', 'imgs/b.png': 'image b', 'imgs/c.png': 'image c' });
  const folder = join(dir, 'imgs');
  const cache = join(dir, 'cache');
  const c = counting(folder, 0.1);
  const first = await setFeaturesThroughFile(folder, key, cache, c.compute);
  const again = await setFeaturesThroughFile(folder, key, cache, c.compute);
  assert.equal(c.calls(), 1);
  assert.deepEqual(Array.from(again.features.data), Array.from(first.features.data));
  assert.equal(again.summary.images, 3);

  // another model: its own file
  await setFeaturesThroughFile(folder, { ...key, extractorSha256: 'b'.repeat(64) }, cache, c.compute);
  assert.equal(c.calls(), 2);

  // one image's content changed: a miss, and the new rows are what is read from then on
  writeFileSync(join(folder, 'b.png'), 'image b, redrawn');
  const d = counting(folder, 5);
  const changed = await setFeaturesThroughFile(folder, key, cache, d.compute);
  assert.equal(d.calls(), 1);
  assert.equal(changed.features.data[0], rowsOf(1, 5)[0]);

  // a torn file (its CRC fails) is recomputed, not read
  const files = readdirSync(join(cache, 'sets'), { recursive: true }).map(String).filter((f) => f.endsWith('.f32'));
  for (const f of files) {
    const path = join(cache, 'sets', f);
    const bytes = readFileSync(path);
    bytes[5] = bytes[5]! ^ 0xff;
    writeFileSync(path, bytes);
  }
  await setFeaturesThroughFile(folder, key, cache, d.compute);
  assert.equal(d.calls(), 2);
});

test('a folder with an unreadable image set is left to the per-image path, which reports it', async () => {
  const dir = tempDir();
  let calls = 0;
  await assert.rejects(
    setFeaturesThroughFile(join(dir, 'missing'), key, join(dir, 'cache'), async () => {
      calls++;
      throw new Error('cannot list');
    }),
    /cannot list/,
  );
  assert.equal(calls, 1);
});

test('evaluation threads: the cores shared among the pool\'s workers, at least one', () => {
  assert.equal(evaluationThreads({ VSDLAB_WORKERS: '2' }, 2), 1);
  assert.equal(evaluationThreads({ VSDLAB_WORKERS: '2' }, 16), 8);
  assert.equal(evaluationThreads({ VSDLAB_WORKERS: '4' }, 2), 1);
  assert.equal(evaluationThreads({}, 4), 4);
  assert.equal(evaluationThreads({ VSDLAB_WORKERS: 'x' }, 4), 4);
});
