import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { generateSyntheticSet } from '../../src/data/synthetic-set.js';
import { writeSyntheticSet } from '../../src/data/synthetic-write.js';
import { verifyDatasetManifest } from '../../src/data/dataset-manifest.js';
import { loadCocoCaptions } from '../../src/data/coco-load.js';
import { loadSyntheticAttributes } from '../../src/data/attributes-load.js';
import { parseCaption } from '../../src/data/caption-parse.js';
import { BadInputError, VsdlabError } from '../../src/errors.js';
import { buildSyntheticDataset } from '../../src/data/synthetic-recipe.js';

test('writes PNGs, COCO captions, attributes and a verifiable manifest, atomically', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'vsdlab-data-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const set = generateSyntheticSet({ seed: 8, nTrain: 20, nVal: 5 });
  const dir = join(root, 'shapes');
  const manifest = await writeSyntheticSet(dir, set);
  assert.deepEqual((await readdir(root)).sort(), ['shapes'], 'no temp folder is left behind');
  assert.deepEqual((await readdir(dir)).sort(), ['annotations', 'manifest.json', 'train', 'val']);
  assert.equal((await readdir(join(dir, 'train'))).length, 20);
  assert.equal(manifest.files.length, 20 + 5 + 4);

  // PNG decodes to exactly the generated pixels
  const img = set.val.images[3];
  assert.ok(img);
  const { data, info } = await sharp(join(dir, 'val', img.fileName)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [32, 32, 3]);
  assert.deepEqual(new Uint8Array(data), img.pixels);

  const coco = await loadCocoCaptions(join(dir, 'annotations', 'captions_val.json'));
  assert.deepEqual(coco.images.map((i) => i.file_name), set.val.images.map((i) => i.fileName));
  assert.equal(coco.annotations.length, 25);
  const attrs = JSON.parse(await readFile(join(dir, 'annotations', 'attributes_train.json'), 'utf8')) as { images: { background: string; objects: unknown[] }[] };
  assert.equal(attrs.images.length, 20);
  assert.equal(attrs.images[0]?.background, set.train.images[0]?.attributes.background);

  // the sidecar's labels are what the captions say
  const { labels } = await loadSyntheticAttributes(join(dir, 'annotations', 'attributes_val.json'));
  for (const ann of coco.annotations) assert.deepEqual(parseCaption(ann.caption), labels.get(ann.image_id));
  await writeFile(join(root, 'bad-attrs.json'), JSON.stringify({ generator: 'x', split: 'val', options: {}, images: [{ id: 1, file_name: 'a', background: 'teal', background_rgb: [0, 0, 0], objects: [] }] }));
  await assert.rejects(loadSyntheticAttributes(join(root, 'bad-attrs.json')), /bad-attrs\.json: images\[0\]\.background/);
  await rm(join(root, 'bad-attrs.json'));

  const check = await verifyDatasetManifest(dir);
  assert.equal(check.ok, true);
  assert.equal((check.manifest as Record<string, unknown>).fingerprint !== undefined, true);

  // refuses to clobber; overwrite replaces
  await assert.rejects(writeSyntheticSet(dir, set), (e: unknown) => e instanceof BadInputError && e.code === 'DATASET_EXISTS');
  const again = await writeSyntheticSet(dir, set, { overwrite: true });
  assert.equal(again.filesSha256, manifest.filesSha256, 'same set, same files');
  assert.deepEqual((await readdir(root)).sort(), ['shapes']);

  // a changed file and an extra file are caught
  await writeFile(join(dir, 'train', set.train.images[0]?.fileName ?? ''), 'x');
  await writeFile(join(dir, 'stray.txt'), 'x');
  const bad = await verifyDatasetManifest(dir);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.changed, [`train/${set.train.images[0]?.fileName}`]);
  assert.deepEqual(bad.extra, ['stray.txt']);
});

test('a recipe builds only when it reproduces its recorded fingerprint', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'vsdlab-recipe-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const options = { seed: 3, nTrain: 4, nVal: 2 };
  const fp = generateSyntheticSet(options).fingerprint.set;
  const recipe = (expected: string): string => `kind: synthetic-shapes\noptions: {seed: 3, nTrain: 4, nVal: 2}\nexpectedFingerprint: "${expected}"\n`;
  await writeFile(join(root, 'good.yaml'), recipe(fp));
  await writeFile(join(root, 'stale.yaml'), recipe('0'.repeat(64)));
  await writeFile(join(root, 'typo.yaml'), 'kind: synthetic-shapes\noptions: {seed: 3, ntrain: 4}\n');
  const m = await buildSyntheticDataset(join(root, 'good.yaml'), join(root, 'out'));
  assert.equal(m.fingerprint.set, fp);
  await assert.rejects(buildSyntheticDataset(join(root, 'stale.yaml'), join(root, 'out2')), (e: unknown) => e instanceof VsdlabError && e.code === 'FINGERPRINT_MISMATCH' && e.kind === 'failure');
  await assert.rejects(buildSyntheticDataset(join(root, 'typo.yaml'), join(root, 'out3')), (e: unknown) => e instanceof BadInputError && /typo\.yaml:2 {2}options\.ntrain {2}unknown key/.test(e.message));
  assert.deepEqual((await readdir(root)).sort(), ['good.yaml', 'out', 'stale.yaml', 'typo.yaml']);
});
