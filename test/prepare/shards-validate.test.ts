// The pure parts of datasets prepare: --shard parsing and block ownership, COCO validation findings, --list parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cocoCaptionsFromJson } from '../../src/data/index.js';
import { BadInputError } from '../../src/errors.js';
import { parseListOption, parseShard, validateCoco } from '../../src/prepare/index.js';
import { blockCount, shardBlocks } from '../../src/prepare/shards.js';

test('--shard i/n: 0 <= i < n, anything else is one BadInputError', () => {
  assert.deepEqual(parseShard('1/4'), { index: 1, count: 4 });
  for (const bad of ['4/4', '-1/2', '1/0', 'a/b', '1', '1/2/3', '']) assert.throws(() => parseShard(bad), BadInputError, bad);
});

test('every block belongs to exactly one shard, whatever n, uneven and empty shards included', () => {
  for (const images of [0, 1, 5, 256, 1000]) {
    for (const n of [1, 2, 3, 7, 64]) {
      const blocks = blockCount(images, 32);
      const owned = Array.from({ length: n }, (_, i) => shardBlocks(blocks, { index: i, count: n })).flat().sort((a, b) => a - b);
      assert.deepEqual(owned, Array.from({ length: blocks }, (_, b) => b), `${images} images, ${n} shards`);
    }
  }
});

const coco = (images: number, perImage: number) =>
  cocoCaptionsFromJson(
    {
      images: Array.from({ length: images }, (_, i) => ({ id: i + 1, file_name: `COCO_val2014_${String(i + 1).padStart(12, '0')}.jpg`, width: 10, height: 10 })),
      annotations: Array.from({ length: images * perImage }, (_, k) => ({ id: k + 1, image_id: Math.floor(k / perImage) + 1, caption: `c${k}` })),
    },
    'captions_val2014.json',
  );

test('validation: the release counts pass silently, other counts, missing and unlisted files are named', () => {
  const c = coco(4, 5);
  const files = c.images.map((i) => i.file_name);
  assert.deepEqual(validateCoco(c, files, { images: 4, captions: 20 }).warnings, []);
  const v = validateCoco(c, [...files.slice(1), 'extra.jpg'], { images: 40504, captions: 202654 });
  assert.deepEqual(v.missing, [files[0]]);
  assert.deepEqual(v.unlisted, ['extra.jpg']);
  assert.equal(v.warnings.length, 4);
  assert.match(v.warnings[0]!, /lists 4 images; the official COCO-2014 val release has 40,504/);
  assert.match(v.warnings[1]!, /has 20 captions; the official COCO-2014 val release has 202,654/);
});

test('--list NAME=PATH names a list protocol', () => {
  assert.deepEqual(parseListOption('sbv2-first-30k=/x/dataset.json'), ['sbv2-first-30k', '/x/dataset.json']);
  for (const bad of ['random-n=/x', 'sbv2-first-30k=', '=x', 'dataset.json']) assert.throws(() => parseListOption(bad), BadInputError, bad);
});
