import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../helpers/paths.js';
import { generateSyntheticSet, generateSyntheticImage, stackPixels, SyntheticSetOptionsSchema } from '../../src/data/synthetic-set.js';
import { readSyntheticRecipe } from '../../src/data/synthetic-recipe.js';
import { POSITIONS, SHAPES, PAIR_LAYOUTS } from '../../src/data/synthetic-world.js';
import { renderScene } from '../../src/data/synthetic-render.js';

const small = { nTrain: 40, nVal: 10 };

test('same seed gives byte-identical images and captions', () => {
  const a = generateSyntheticSet({ seed: 1, ...small });
  const b = generateSyntheticSet({ seed: 1, ...small });
  assert.deepEqual(a.fingerprint, b.fingerprint);
  for (let i = 0; i < a.train.images.length; i++) {
    assert.deepEqual(a.train.images[i]?.pixels, b.train.images[i]?.pixels);
    assert.deepEqual(a.train.images[i]?.captions, b.train.images[i]?.captions);
  }
});

test('a different seed gives different images, captions and attributes', () => {
  const a = generateSyntheticSet({ seed: 1, ...small });
  const b = generateSyntheticSet({ seed: 2, ...small });
  assert.notEqual(a.fingerprint.pixels, b.fingerprint.pixels);
  assert.notEqual(a.fingerprint.captions, b.fingerprint.captions);
  assert.notEqual(a.fingerprint.attributes, b.fingerprint.attributes);
  assert.notEqual(a.fingerprint.set, b.fingerprint.set);
});

test('a smaller set is a prefix of a larger one; splits use separate streams', () => {
  const big = generateSyntheticSet({ seed: 4, nTrain: 30, nVal: 8 });
  const little = generateSyntheticSet({ seed: 4, nTrain: 12, nVal: 3 });
  assert.deepEqual(little.train.images.map((i) => i.captions), big.train.images.slice(0, 12).map((i) => i.captions));
  assert.deepEqual(little.val.images[2]?.pixels, big.val.images[2]?.pixels);
  const opts = SyntheticSetOptionsSchema.parse({ seed: 4 });
  assert.deepEqual(generateSyntheticImage(opts, 'val', 5).pixels, big.val.images[5]?.pixels);
  assert.notDeepEqual(big.train.images[0]?.pixels, big.val.images[0]?.pixels);
});

test('the default recipe reproduces the fingerprint committed in datasets/', async () => {
  const recipe = await readSyntheticRecipe(fromRoot('datasets', 'synthetic-shapes.yaml'));
  const set = generateSyntheticSet(recipe.options);
  assert.equal(set.train.images.length, 4000);
  assert.equal(set.val.images.length, 500);
  assert.equal(set.fingerprint.set, recipe.expectedFingerprint);
});

test('images, ids and attributes are well formed', () => {
  const set = generateSyntheticSet({ seed: 9, nTrain: 300, nVal: 20, size: 32 });
  const seen = { shapes: new Set<string>(), positions: new Set<string>(), pairs: 0 };
  for (const [k, img] of set.train.images.entries()) {
    assert.equal(img.id, k + 1);
    assert.equal(img.pixels.length, 32 * 32 * 3);
    assert.match(img.fileName, /^shapes_train_\d{12}\.png$/);
    const objs = img.attributes.objects;
    assert.ok(objs.length === 1 || objs.length === 2);
    for (const o of objs) {
      assert.notEqual(o.colour, img.attributes.background);
      seen.shapes.add(o.shape);
      seen.positions.add(o.position);
    }
    if (objs.length === 2) {
      seen.pairs++;
      const layout = objs.map((o) => o.position).join(',');
      assert.ok(PAIR_LAYOUTS.some((l) => l.join(',') === layout), layout);
      assert.ok(objs[0]?.shape !== objs[1]?.shape || objs[0]?.colour !== objs[1]?.colour);
    }
  }
  assert.equal(seen.shapes.size, SHAPES.length);
  assert.equal(seen.positions.size, POSITIONS.length);
  assert.ok(seen.pairs > 100 && seen.pairs < 200, `pairs ${seen.pairs}`);
  assert.equal(set.val.images[0]?.id, 1_000_001);
  assert.equal(set.val.images[0]?.captions[0]?.id, 1_000_001);
  assert.equal(set.train.images[1]?.captions[0]?.id, 6);
});

test('rendering: background where nothing is, object colour inside, blended edge pixels', () => {
  const scene = {
    background: 'white' as const,
    backgroundRgb: [240, 240, 240] as [number, number, number],
    objects: [{ shape: 'circle' as const, colour: 'red' as const, position: 'centre' as const, cx: 0.5, cy: 0.5, halfSize: 0.25, rgb: [200, 0, 0] as [number, number, number] }],
  };
  const px = renderScene(scene, 32);
  const at = (x: number, y: number): number[] => Array.from(px.subarray(3 * (y * 32 + x), 3 * (y * 32 + x) + 3));
  assert.deepEqual(at(0, 0), [240, 240, 240]);
  assert.deepEqual(at(16, 16), [200, 0, 0]);
  // the rim (radius 8 px about (16, 16)) crosses pixel (10, 10) on the diagonal, at 16 − 8/√2 ≈ 10.34: partly covered
  const rim = at(10, 10);
  assert.ok((rim[0] as number) > 200 && (rim[0] as number) < 240 && (rim[1] as number) > 0 && (rim[1] as number) < 240, `rim ${rim.join(',')}`);
  // area of the disc ≈ π r²: count red weight
  let cover = 0;
  for (let i = 0; i < 32 * 32; i++) cover += (240 - (px[3 * i + 1] as number)) / 240;
  assert.ok(Math.abs(cover - Math.PI * 64) < 3, `coverage ${cover}`);
});

test('other sizes render the same scene at that resolution', () => {
  const set = generateSyntheticSet({ seed: 1, nTrain: 2, nVal: 0, size: 64 });
  assert.equal(set.train.images[0]?.pixels.length, 64 * 64 * 3);
  assert.equal(set.train.images[0]?.width, 64);
  const batch = stackPixels(set.train.images);
  assert.equal(batch.length, 2 * 64 * 64 * 3);
  assert.deepEqual(batch.subarray(64 * 64 * 3), set.train.images[1]?.pixels);
  assert.throws(() => generateSyntheticSet({ seed: 1, nTrain: 1, nVal: 0, size: 3 }));
});
