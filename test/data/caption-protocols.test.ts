import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromRoot } from '../helpers/paths.js';
import { loadCocoCaptions, cocoCaptionsFromJson } from '../../src/data/coco-load.js';
import { readCaptionList, parseCaptionList } from '../../src/data/caption-list.js';
import { captionFingerprint, selectCaptions } from '../../src/data/caption-protocols.js';
import { BadInputError } from '../../src/errors.js';
import { generateSyntheticSet, toCocoCaptionFile } from '../../src/data/synthetic-set.js';

const fixture = (name: string): string => fromRoot('test', 'fixtures', 'data', name);
const file = (id: number): string => `COCO_val2014_${String(id).padStart(12, '0')}.jpg`;

test('first-caption-per-image: ids ascending, first caption in file order, uncaptioned images skipped', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  const s = selectCaptions('first-caption-per-image', coco);
  assert.deepEqual(s.captions, [
    { imageId: 42, fileName: file(42), caption: 'A man riding a wave on top of a surfboard.' },
    { imageId: 184613, fileName: file(184613), caption: 'A man riding a wave on top of a surfboard.' },
    { imageId: 318219, fileName: file(318219), caption: 'A boy looks at a computer screen\n' },
    { imageId: 391895, fileName: file(391895), caption: 'A rider in a helmet on a small motorbike on a dirt track. ' },
    { imageId: 522418, fileName: file(522418), caption: 'A person slicing a cake on a counter.' },
  ]);
  assert.deepEqual(selectCaptions('first-caption-per-image', coco, { n: 2 }).captions, s.captions.slice(0, 2));
  assert.equal(s.sources.coco?.sha256, coco.sha256);
  assert.throws(() => selectCaptions('first-caption-per-image', coco, { n: 6 }), BadInputError);
});

test('the fingerprint is sha256 of one JSON line [imageId, fileName, caption] per entry', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  const s = selectCaptions('first-caption-per-image', coco, { n: 2 });
  const text = `[42,"${file(42)}","A man riding a wave on top of a surfboard."]\n[184613,"${file(184613)}","A man riding a wave on top of a surfboard."]\n`;
  assert.equal(s.fingerprint, createHash('sha256').update(text).digest('hex'));
  assert.equal(captionFingerprint(s.captions), s.fingerprint);
  assert.notEqual(selectCaptions('first-caption-per-image', coco, { n: 3 }).fingerprint, s.fingerprint);
});

test('random-n matches the documented algorithm (independent Python transcription)', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  const expected = JSON.parse(readFileSync(fixture('random-n-expected.json'), 'utf8')) as Record<string, [number, string, string][]>;
  for (const seed of [0, 7, 2 ** 40 + 3]) {
    for (const n of [3, 5]) {
      const s = selectCaptions('random-n', coco, { n, seed });
      assert.deepEqual(s.captions.map((c) => [c.imageId, c.fileName, c.caption]), expected[`seed${seed}_n${n}`], `seed ${seed} n ${n}`);
    }
  }
});

test('random-n: distinct images, own captions, nested prefixes, seed sensitivity', () => {
  const set = generateSyntheticSet({ seed: 5, nTrain: 0, nVal: 50 });
  const coco = cocoCaptionsFromJson(toCocoCaptionFile(set, 'val'), 'val');
  const a = selectCaptions('random-n', coco, { n: 30, seed: 1 });
  const b = selectCaptions('random-n', coco, { n: 30, seed: 1 });
  const c = selectCaptions('random-n', coco, { n: 30, seed: 2 });
  const prefix = selectCaptions('random-n', coco, { n: 10, seed: 1 });
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
  assert.deepEqual(prefix.captions, a.captions.slice(0, 10));
  assert.equal(new Set(a.captions.map((x) => x.imageId)).size, 30);
  for (const x of a.captions) assert.ok(coco.captionsByImage.get(x.imageId as number)?.some((ann) => ann.caption === x.caption));
  // not simply the first caption every time
  assert.ok(a.captions.some((x) => coco.captionsByImage.get(x.imageId as number)?.[0]?.caption !== x.caption));
  assert.throws(() => selectCaptions('random-n', coco, { n: 51, seed: 1 }), BadInputError);
  assert.throws(() => selectCaptions('random-n', coco, { n: 5 }), /needs both n and seed/);
});

test('gigagan-random-30k: the published list in order, placed on images by text', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  const list = await readCaptionList(fixture('captions_list_mini.txt'));
  assert.equal(list.format, 'lines');
  const s = selectCaptions('gigagan-random-30k', coco, { list, n: 4 });
  assert.deepEqual(s.captions, [
    { imageId: 318219, fileName: file(318219), caption: 'A boy looks at a computer screen' },
    { imageId: null, fileName: null, caption: 'A man riding a wave on top of a surfboard.' },
    { imageId: 391895, fileName: file(391895), caption: 'someone riding a motor  scooter down a country road.' },
    { imageId: null, fileName: null, caption: 'A caption that is in no image.' },
  ]);
  assert.deepEqual(s.matching, { byPosition: 0, byText: 2, ambiguous: 1, unmatched: 1 });
  assert.equal(s.sources.list?.known, null);
  assert.ok(s.warnings.some((w) => /not byte-identical/.test(w)));
  assert.ok(s.warnings.some((w) => /1 of 4 captions are not in/.test(w)));
  // the protocol takes 30,000 by default and a shorter list is an error, not a silent subset
  assert.throws(() => selectCaptions('gigagan-random-30k', coco, { list }), /has 4 captions, the protocol takes 30000/);
  assert.throws(() => selectCaptions('gigagan-random-30k', coco, {}), (e: unknown) => e instanceof BadInputError && /no RNG reproduces it/.test(e.message));
  const bare = selectCaptions('gigagan-random-30k', null, { list, n: 4 });
  assert.deepEqual(bare.captions.map((c) => c.imageId), [null, null, null, null]);
  // same prompts: same text fingerprint, though placing them on images changes the full one
  assert.equal(bare.textFingerprint, s.textFingerprint);
  assert.notEqual(bare.fingerprint, s.fingerprint);
  assert.equal(s.textFingerprint, createHash('sha256').update(list.captions.map((c) => `${JSON.stringify(c)}\n`).join('')).digest('hex'));
});

test('sbv2-first-30k: the first n entries of dataset.json, placed by image order first', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  const list = await readCaptionList(fixture('dataset_sbv2_mini.json'));
  assert.equal(list.format, 'sbv2-json');
  assert.equal(list.names?.[1], '00000/img00000001.png');
  const s = selectCaptions('sbv2-first-30k', coco, { list, n: 6 });
  assert.deepEqual(
    s.captions.map((c) => c.imageId),
    [391895, 522418, 184613, 318219, null, 42],
  );
  assert.equal(s.captions[3]?.caption, 'A boy looks at a computer screen\n');
  assert.deepEqual(s.matching, { byPosition: 5, byText: 0, ambiguous: 0, unmatched: 1 });
  assert.deepEqual(selectCaptions('sbv2-first-30k', coco, { list, n: 3 }).captions, s.captions.slice(0, 3));
});

test('caption lists: bad input is named', async () => {
  await assert.rejects(readCaptionList('/nonexistent/captions_coco14_test.pkl'), /pickle files are not read/);
  assert.throws(() => parseCaptionList(Buffer.from('a\n\nb\n'), 'l.txt'), /l\.txt:2: empty caption line/);
  assert.throws(() => parseCaptionList(Buffer.from('{"labels": [["a.png", 3]]}'), 'd.json'), /d\.json: labels\[0\]\[1\]/);
  const crlf = parseCaptionList(Buffer.from('\ufeffone\r\ntwo\r\n'), 'w.txt');
  assert.deepEqual(crlf.captions, ['one', 'two']);
});

test('unknown protocol names are rejected', async () => {
  const coco = await loadCocoCaptions(fixture('captions_mini2014.json'));
  assert.throws(() => selectCaptions('coco-30k' as never, coco), /unknown caption protocol "coco-30k"/);
});
