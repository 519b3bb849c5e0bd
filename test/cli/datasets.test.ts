import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

test('vsdlab datasets build writes a COCO-format set that verify accepts, and verify names a changed file', () => {
  const dir = tempDir({
    'tiny.yaml': 'kind: synthetic-shapes\ndescription: tiny\noptions:\n  seed: 3\n  nTrain: 12\n  nVal: 4\n  size: 32\n  captionsPerImage: 5\n  supersample: 4\n',
  });
  const out = join(dir, 'set');
  const built = vsdlab(['datasets', 'build', join(dir, 'tiny.yaml'), '--out', out]);
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stdout, /12 train \/ 4 val images/);
  assert.ok(existsSync(join(out, 'annotations', 'captions_val2014.json')) || readdirSync(join(out, 'annotations')).some((f) => f.startsWith('captions_val')));
  assert.equal(vsdlab(['datasets', 'verify', out]).code, 0);
  const again = vsdlab(['datasets', 'build', join(dir, 'tiny.yaml'), '--out', out]);
  assert.equal(again.code, 2, 'refuses to overwrite without --overwrite');
  const png = readdirSync(join(out, 'val'))[0] ?? '';
  appendFileSync(join(out, 'val', png), 'x');
  const verify = vsdlab(['datasets', 'verify', out]);
  assert.equal(verify.code, 1);
  assert.match(verify.stderr, new RegExp(`val/${png.replace('.', '\\.')}: changed`));
});

test('vsdlab datasets build refuses a bad recipe with exit 2, every problem on its own file:line line', () => {
  const dir = tempDir({ 'bad.yaml': 'kind: synthetic-shapes\noptions:\n  seed: three\n  colours: 9\n' });
  const r = vsdlab(['datasets', 'build', join(dir, 'bad.yaml'), '--out', join(dir, 'set')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /2 problems in the dataset recipe:/);
  assert.match(r.stderr, /bad\.yaml:3 {2}options\.seed {2}expected number, got string "three"/);
  assert.match(r.stderr, /bad\.yaml:4 {2}options\.colours {2}unknown key/);
  assert.equal(existsSync(join(dir, 'set')), false);
});
