import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSyntheticRecipe } from '../../src/data/synthetic-recipe.js';
import { BadInputError } from '../../src/errors.js';
import { IssuesError } from '../../src/util/issues.js';
import { tempDir } from '../helpers/temp.js';

test('a bad dataset recipe names every problem as file:line  dotted.path  message, not only the first', async () => {
  const dir = tempDir({
    'd.yaml': `kind: synthetic-shapes
options:
  seed: three
  nTrain: 4
  colours: 9
expectedFingerprint: "abc"
`,
  });
  const file = join(dir, 'd.yaml');
  await assert.rejects(readSyntheticRecipe(file), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.equal(e.code, 'RECIPE_INVALID');
    assert.deepEqual(e.message.split('\n'), [
      '3 problems in the dataset recipe:',
      `  ${file}:3  options.seed  expected number, got string "three"`,
      `  ${file}:5  options.colours  unknown key`,
      `  ${file}:6  expectedFingerprint  Invalid string: must match pattern /^[0-9a-f]{64}$/`,
    ]);
    return true;
  });
});

test('every YAML slip in a dataset recipe is reported with its line; a missing recipe is one line', async () => {
  const dir = tempDir({ 'd.yaml': 'kind: synthetic-shapes\nkind: synthetic-shapes\noptions: {seed: 3, nTrain: 4\n' });
  await assert.rejects(readSyntheticRecipe(join(dir, 'd.yaml')), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.deepEqual(e.issues.map((i) => [i.code, i.line]).slice(0, 1), [['yaml_syntax', 2]]);
    assert.ok(e.issues.length >= 2, e.message);
    return true;
  });
  await assert.rejects(readSyntheticRecipe(join(dir, 'nope.yaml')), (e: unknown) => {
    assert.ok(e instanceof BadInputError);
    assert.equal(e.code, 'RECIPE_UNREADABLE');
    assert.match(e.message, /nope\.yaml: cannot read the dataset recipe file \(no such file\)/);
    return true;
  });
});
