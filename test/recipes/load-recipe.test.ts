import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadRecipe } from '../../src/recipes/load-recipe.js';
import { IssuesError } from '../../src/util/issues.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('the committed recipes load', () => {
  for (const name of ['embedded-extractors', 'embedded-teacher']) assert.equal(loadRecipe(fromRoot('experiments', 'recipes', `${name}.yaml`)).kind, name);
});

test('a bad recipe names every problem as file:line  dotted.path  message', () => {
  const dir = tempDir({
    'r.yaml': `kind: embedded-extractors
dataset: datasets/synthetic-shapes.yaml
out: out
perception: { epochs: two, batch_size: 8, learning_rate: 0.001 }
clip: { epochs: 1, batch_size: 8, learning_rate: 0.001, sed: 1 }
`,
  });
  const file = join(dir, 'r.yaml');
  assert.throws(() => loadRecipe(file), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.deepEqual(e.message.split('\n'), [
      '2 problems in the recipe:',
      `  ${file}:4  perception.epochs  expected number, got string "two"`,
      `  ${file}:5  clip.sed  unknown key`,
    ]);
    return true;
  });
});

test('a recipe with an unknown kind, or YAML slips, is refused with lines', () => {
  const dir = tempDir({ 'k.yaml': 'kind: embedded-vae\nout: out\n', 's.yaml': 'kind: embedded-teacher\nkind: embedded-extractors\nout: [a, b\n' });
  assert.throws(() => loadRecipe(join(dir, 'k.yaml')), (e: unknown) => e instanceof IssuesError && /k\.yaml:1 {2}kind {2}/.test(e.message));
  assert.throws(() => loadRecipe(join(dir, 's.yaml')), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.ok(e.issues.length >= 2, e.message);
    assert.ok(e.issues.every((i) => i.code === 'yaml_syntax' && i.line !== undefined));
    return true;
  });
});
