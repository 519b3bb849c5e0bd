import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateStage } from '../../src/stages/evaluate-stage.js';
import { evaluateFixture, writeEvaluateFixture } from '../helpers/evaluate-fixture.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

// the golden's FID went through the js Fréchet backend; the optional native one differs in the 14th digit
process.env.VSDLAB_FRECHET_BACKEND = 'js';

const golden = (JSON.parse(readFileSync(fromRoot('test/golden/evaluate/results.json'), 'utf8')) as { result: unknown }).result;

test('the evaluate stage gives every number of the previous build to the last digit: cold caches, then a later cell in the same process, then a fresh feature cache', async () => {
  const dir = tempDir();
  const fixture = await writeEvaluateFixture(dir);
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features');
  // the study's first cell: nothing cached anywhere
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-1')), golden);
  // a later cell in the same worker: sessions, reference sets and features come from the caches
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-2')), golden);
  // a worker whose feature cache is empty while its process caches are warm
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features-2');
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-3')), golden);
});
