import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../helpers/paths.js';
import { cocoCaptionsFromJson, loadCocoCaptions } from '../../src/data/coco-load.js';
import { generateSyntheticSet, toCocoCaptionFile } from '../../src/data/synthetic-set.js';
import { BadInputError } from '../../src/errors.js';

const fixture = (name: string): string => fromRoot('test', 'fixtures', 'data', name);

const badInput = (code: string, ...patterns: RegExp[]) => (e: unknown): boolean => {
  assert.ok(e instanceof BadInputError, String(e));
  assert.equal(e.code, code);
  assert.equal(e.kind, 'bad-input');
  for (const p of patterns) assert.match(e.message, p);
  return true;
};

test('loads a COCO-2014 captions file and indexes it', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  assert.equal(coco.images.length, 6);
  assert.equal(coco.annotations.length, 11);
  assert.match(coco.sha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(coco.imageById.get(391895)?.file_name, 'COCO_val2014_000000391895.jpg');
  assert.deepEqual(coco.captionsByImage.get(391895)?.map((a) => a.id), [31, 17, 33]);
  assert.equal(coco.captionsByImage.get(554625), undefined);
  // unknown keys of the real files survive
  assert.equal((coco.images[0] as Record<string, unknown>).date_captured, '2013-11-14 11:18:45');
});

test('a wrong value names the file and the JSON path', async () => {
  const path = fixture('captions_bad_shape.json');
  await assert.rejects(loadCocoCaptions(path), badInput('COCO_SHAPE_INVALID', new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), /annotations\[2\]\.caption/, /string/));
});

test('broken JSON, a missing file and missing keys are clear errors', async () => {
  await assert.rejects(loadCocoCaptions(fixture('captions_bad_syntax.json')), badInput('COCO_JSON_INVALID', /captions_bad_syntax\.json: not valid JSON/));
  await assert.rejects(loadCocoCaptions(fixture('no-such-file.json')), badInput('COCO_UNREADABLE', /no-such-file\.json: cannot read \(ENOENT\)/));
  assert.throws(() => cocoCaptionsFromJson({ images: [] }, 'x.json'), badInput('COCO_SHAPE_INVALID', /^x\.json: annotations: /));
  assert.throws(() => cocoCaptionsFromJson([], 'x.json'), badInput('COCO_SHAPE_INVALID', /^x\.json: \(root\): /));
  assert.throws(
    () => cocoCaptionsFromJson({ images: [{ id: 1, file_name: 'a', width: 1, height: 1 }, { id: 2, file_name: 'b', width: '1', height: 1 }], annotations: [] }, 'x.json'),
    badInput('COCO_SHAPE_INVALID', /images\[1\]\.width/),
  );
});

test('duplicate ids and captions of unknown images are rejected', () => {
  const img = { id: 1, file_name: 'a.jpg', width: 2, height: 2 };
  assert.throws(() => cocoCaptionsFromJson({ images: [img, img], annotations: [] }, 'd.json'), badInput('COCO_SHAPE_INVALID', /images\[1\]\.id: duplicate image id 1/));
  assert.throws(
    () => cocoCaptionsFromJson({ images: [img], annotations: [{ id: 1, image_id: 1, caption: 'a' }, { id: 1, image_id: 1, caption: 'b' }] }, 'd.json'),
    badInput('COCO_SHAPE_INVALID', /annotations\[1\]\.id: duplicate annotation id 1/),
  );
  assert.throws(
    () => cocoCaptionsFromJson({ images: [img], annotations: [{ id: 1, image_id: 9, caption: 'a' }] }, 'd.json'),
    badInput('COCO_SHAPE_INVALID', /annotations\[0\]\.image_id: no image has id 9/),
  );
});

test('the synthetic split in COCO form has exactly the COCO-2014 keys and loads back', () => {
  const set = generateSyntheticSet({ seed: 2, nTrain: 6, nVal: 2 });
  const file = toCocoCaptionFile(set, 'train');
  assert.deepEqual(Object.keys(file).sort(), ['annotations', 'images', 'info', 'licenses']);
  assert.deepEqual(Object.keys(file.images[0] ?? {}).sort(), ['file_name', 'height', 'id', 'license', 'width']);
  assert.deepEqual(Object.keys(file.annotations[0] ?? {}).sort(), ['caption', 'id', 'image_id']);
  for (const key of ['description', 'url', 'version', 'year', 'contributor', 'date_created']) assert.ok(key in (file.info ?? {}), key);
  const coco = cocoCaptionsFromJson(JSON.parse(JSON.stringify(file)), 'mem');
  assert.equal(coco.images.length, 6);
  assert.equal(coco.annotations.length, 30);
  assert.deepEqual(coco.captionsByImage.get(3)?.map((a) => a.caption), set.train.images[2]?.captions.map((c) => c.caption));
});
