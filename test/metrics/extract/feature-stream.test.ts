import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../../../src/errors.js';
import { streamFeatures, type FeatureExtractor } from '../../../src/metrics/extract/index.js';
import { FeatureCache } from '../../../src/metrics/feature-cache/index.js';
import type { RgbImage } from '../../../src/metrics/image/index.js';
import { tempDir } from '../../helpers/temp.js';

// a stand-in network: 4 x 4 input, features = [mean of channel 0, first pixel of channel 1, row count seen]
class FakeExtractor implements FeatureExtractor {
  readonly sha256 = 'ab'.repeat(32);
  readonly input = { channels: 3, height: 4, width: 4 };
  readonly outputs = ['f'];
  calls: number[] = [];
  nan = false;
  async run(batch: Float32Array, rows: number): Promise<Record<string, Float32Array>> {
    this.calls.push(rows);
    const out = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0; i < 16; i++) s += batch[r * 48 + i]!;
      out[r * 3] = this.nan && r === 1 ? Number.NaN : s / 16;
      out[r * 3 + 1] = batch[r * 48 + 16]!;
      out[r * 3 + 2] = rows;
    }
    return { f: out };
  }
  declaredDims(): number {
    return 3;
  }
}

// files hold one byte: the grey value of the whole image ('!' marks a corrupt file)
const decode = async (bytes: Buffer, name: string): Promise<RgbImage> => {
  if (bytes[0] === 33) throw new BadInputError('IMAGE_UNREADABLE', `cannot decode image ${name}: corrupt`);
  return { width: 2, height: 2, data: new Uint8Array(12).fill(bytes[0]!) };
};
const preprocess = (_mode: string, img: RgbImage, size: number) => ({
  width: size,
  height: size,
  channels: 3,
  data: new Float32Array(3 * size * size).fill(img.data[0]!),
});

function folder(values: number[]): string[] {
  const dir = tempDir();
  return values.map((v, i) => {
    const p = join(dir, `${String(i).padStart(3, '0')}.png`);
    writeFileSync(p, Buffer.from([v]));
    return p;
  });
}

test('features come out in file order, one batch at a time (memory holds a batch, not the set)', async () => {
  const files = folder([10, 20, 30, 40, 50, 60, 70]);
  const x = new FakeExtractor();
  const seen: number[] = [];
  let largest = 0;
  const r = await streamFeatures(files, { extractor: x, mode: 'clean', batchSize: 3, decode, preprocess }, (b) => {
    largest = Math.max(largest, b.rows);
    for (let i = 0; i < b.rows; i++) seen.push(b.features.f![i * 3]!);
  });
  assert.deepEqual(seen, [10, 20, 30, 40, 50, 60, 70]);
  assert.deepEqual(x.calls, [3, 3, 1]);
  assert.equal(largest, 3);
  assert.equal(r.images, 7);
  assert.deepEqual(r.dims, { f: 3 });
});

test('a corrupt image stops the run naming the file, or is skipped and counted with skipBad', async () => {
  const files = folder([10, 33, 30]);
  const x = new FakeExtractor();
  await assert.rejects(
    streamFeatures(files, { extractor: x, mode: 'clean', decode, preprocess }, () => {}),
    (e: unknown) => e instanceof BadInputError && e.message.includes(files[1]!),
  );
  // the same when the bad file sits in a chunk decoded ahead while an earlier one runs
  await assert.rejects(
    streamFeatures(files, { extractor: x, mode: 'clean', decode, preprocess, batchSize: 1 }, () => {}),
    (e: unknown) => e instanceof BadInputError && e.message.includes(files[1]!),
  );
  const seen: number[] = [];
  const r = await streamFeatures(files, { extractor: x, mode: 'clean', decode, preprocess, skipBad: true }, (b) => {
    for (let i = 0; i < b.rows; i++) seen.push(b.features.f![i * 3]!);
  });
  assert.deepEqual(seen, [10, 30]);
  assert.equal(r.skipped.length, 1);
  assert.equal(r.skipped[0]!.file, files[1]);
});

test('non-finite features are refused naming the image', async () => {
  const files = folder([1, 2, 3]);
  const x = new FakeExtractor();
  x.nan = true;
  await assert.rejects(
    streamFeatures(files, { extractor: x, mode: 'clean', decode, preprocess }, () => {}),
    (e: unknown) => e instanceof BadInputError && e.message.includes(files[1]!) && /not finite/.test(e.message),
  );
});

test('the feature cache answers a second pass without running the network; keys separate mode and extractor', async () => {
  const files = folder([5, 6, 7, 8, 9]);
  const cache = new FeatureCache(tempDir());
  const first = new FakeExtractor();
  const rows1: number[] = [];
  await streamFeatures(files, { extractor: first, mode: 'clean', batchSize: 2, decode, preprocess, cache }, (b) => void rows1.push(...b.features.f!));
  assert.deepEqual(first.calls, [2, 2, 1]);
  const again = new FakeExtractor();
  const rows2: number[] = [];
  const r = await streamFeatures(files, { extractor: again, mode: 'clean', batchSize: 2, decode, preprocess, cache }, (b) => void rows2.push(...b.features.f!));
  assert.deepEqual(again.calls, []);
  assert.equal(r.cacheHits, 5);
  assert.deepEqual(rows2, rows1);
  // another mode is another key
  const other = new FakeExtractor();
  await streamFeatures(files, { extractor: other, mode: 'legacy-pytorch', batchSize: 5, decode, preprocess, cache }, () => {});
  assert.deepEqual(other.calls, [5]);
  // same bytes under another name hit (content key); changed bytes miss
  const copy = folder([5, 99]);
  const third = new FakeExtractor();
  const r3 = await streamFeatures(copy, { extractor: third, mode: 'clean', batchSize: 5, decode, preprocess, cache }, () => {});
  assert.equal(r3.cacheHits, 1);
  assert.deepEqual(third.calls, [1]);
});

test('cache entries are raw float32 files; a torn file counts as a miss', async () => {
  const cache = new FeatureCache(tempDir());
  const key = { imageSha256: 'cd'.repeat(32), extractorSha256: 'ef'.repeat(32), mode: 'clean', output: 'pool3' };
  await cache.put(key, Float32Array.from([1.5, -2, 3.25]));
  assert.deepEqual([...cache.get(key, 3)!], [1.5, -2, 3.25]);
  assert.equal(cache.get(key, 4), undefined);
  writeFileSync(cache.pathOf(key), Buffer.alloc(5));
  assert.equal(cache.get(key, 3), undefined);
  assert.throws(() => cache.pathOf({ ...key, mode: '../x' }), RangeError);
  assert.throws(() => cache.pathOf({ ...key, imageSha256: 'xyz' }), RangeError);
});
