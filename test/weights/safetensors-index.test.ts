import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensorsIndex } from '../../src/weights/safetensors-index.js';
import { openWeights } from '../../src/weights/open-weights.js';
import { BadInputError, MissingAssetError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';
import { bits16, f32, writeRaw } from '../helpers/safetensors-files.js';

/** a folder with two shards and an index; `weightMap` overrides the index's map */
function sharded(weightMap?: Record<string, string>, extra: (dir: string) => void = () => {}): string {
  const dir = tempDir();
  writeRaw(join(dir, 'm-00001-of-00002.safetensors'), { 'a.w': f32([2], [1, 2]), 'a.b': f32([1], [3]) });
  writeRaw(join(dir, 'm-00002-of-00002.safetensors'), { 'b.w': bits16('F16', [1], [0x4000]) });
  extra(dir);
  const map = weightMap ?? { 'a.w': 'm-00001-of-00002.safetensors', 'a.b': 'm-00001-of-00002.safetensors', 'b.w': 'm-00002-of-00002.safetensors' };
  const index = join(dir, 'm.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ metadata: { total_size: 14 }, weight_map: map }));
  return index;
}

const fails = (code: string, ...parts: string[]) => (e: unknown): boolean => {
  assert.ok(e instanceof BadInputError || e instanceof MissingAssetError, String(e));
  assert.equal(e.code, code, e.message);
  for (const p of parts) assert.ok(e.message.includes(p), `${JSON.stringify(e.message)} names ${p}`);
  return true;
};

test('a sharded checkpoint is one lazy view over its shards', () => {
  const index = sharded();
  const view = openWeights(index);
  try {
    assert.deepEqual(view.names(), ['a.b', 'a.w', 'b.w']);
    assert.deepEqual(view.files, [index, join(index, '..', 'm-00001-of-00002.safetensors'), join(index, '..', 'm-00002-of-00002.safetensors')]);
    assert.deepEqual(view.metadata, { total_size: '14' });
    assert.equal(view.info('b.w')?.file, join(index, '..', 'm-00002-of-00002.safetensors'));
    assert.equal(view.info('b.w')?.dtype, 'F16');
    assert.deepEqual(Array.from(view.read('a.w').values), [1, 2]);
    assert.deepEqual(Array.from(view.read('b.w').values), [2]);
    assert.throws(() => view.read('c'), fails('WEIGHTS_MISMATCH', index, 'no tensor c'));
  } finally {
    view.close();
  }
});

test('a missing shard, a tensor its shard lacks, an unlisted tensor, a name in two shards: each named', () => {
  const gone = sharded({ 'a.w': 'm-00001-of-00002.safetensors', 'x.w': 'm-00003-of-00003.safetensors' });
  assert.throws(() => openSafetensorsIndex(gone), fails('WEIGHTS_SHARD_MISSING', gone, 'shard m-00003-of-00003.safetensors'));
  assert.throws(() => openSafetensorsIndex(gone), MissingAssetError);

  const absent = sharded({ 'a.w': 'm-00001-of-00002.safetensors', 'a.b': 'm-00001-of-00002.safetensors', 'b.w': 'm-00002-of-00002.safetensors', 'c.w': 'm-00002-of-00002.safetensors' });
  assert.throws(() => openSafetensorsIndex(absent), fails('WEIGHTS_INDEX_INVALID', absent, 'tensor c.w in m-00002-of-00002.safetensors, which does not hold it'));

  const unlisted = sharded({ 'a.w': 'm-00001-of-00002.safetensors', 'b.w': 'm-00002-of-00002.safetensors' });
  assert.throws(() => openSafetensorsIndex(unlisted), fails('WEIGHTS_INDEX_INVALID', 'shard m-00001-of-00002.safetensors holds tensor a.b, which weight_map does not list'));

  const twice = sharded(
    { 'a.w': 'm-00001-of-00002.safetensors', 'a.b': 'm-00001-of-00002.safetensors', 'b.w': 'm-00002-of-00002.safetensors', 'x.w': 'm-extra.safetensors' },
    (dir) => writeRaw(join(dir, 'm-extra.safetensors'), { 'x.w': f32([1], [0]), 'a.w': f32([2], [0, 0]) }),
  );
  assert.throws(() => openSafetensorsIndex(twice), fails('WEIGHTS_INDEX_INVALID', 'tensor a.w is in both m-00001-of-00002.safetensors and m-extra.safetensors'));
});

test('a broken index file: not JSON, no weight_map, a shard outside the folder, missing', () => {
  const dir = tempDir({ 'bad.safetensors.index.json': '{"weight_map": ', 'nomap.safetensors.index.json': '{"metadata": {}}', 'up.safetensors.index.json': '{"weight_map": {"a": "../a.safetensors"}}' });
  assert.throws(() => openSafetensorsIndex(join(dir, 'bad.safetensors.index.json')), fails('WEIGHTS_INDEX_INVALID', 'not JSON'));
  assert.throws(() => openSafetensorsIndex(join(dir, 'nomap.safetensors.index.json')), fails('WEIGHTS_INDEX_INVALID', 'nomap.safetensors.index.json: weight_map'));
  assert.throws(() => openSafetensorsIndex(join(dir, 'up.safetensors.index.json')), fails('WEIGHTS_INDEX_INVALID', 'outside the index'));
  assert.throws(() => openSafetensorsIndex(join(dir, 'none.json')), fails('WEIGHTS_MISSING', 'none.json'));
});
