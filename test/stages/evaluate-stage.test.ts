import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { evaluateStage } from '../../src/stages/evaluate-stage.js';
import { evaluateFixture, writeEvaluateFixture } from '../helpers/evaluate-fixture.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

// the golden's FID went through the js Fréchet backend; the optional native one differs in the 14th digit
process.env.VSDLAB_FRECHET_BACKEND = 'js';

const golden = (JSON.parse(readFileSync(fromRoot('test/golden/evaluate/results.json'), 'utf8')) as { result: unknown }).result;

test('the evaluate stage gives every number of the previous build to the last digit: cold caches, a later cell in the same process, a fresh feature cache, one onnxruntime thread', async () => {
  const dir = tempDir();
  const fixture = await writeEvaluateFixture(dir);
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features');
  // the study's first cell: nothing cached anywhere
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-1')), golden);
  // the train and val references and the generated folder, each stored whole for the next cell
  assert.equal(readdirSync(join(dir, 'features', 'sets'), { recursive: true }).filter((f) => String(f).endsWith('.f32')).length, 3);
  // a later cell in the same worker: sessions, reference sets and features come from the caches
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-2')), golden);
  // a worker whose feature cache is empty while its process caches are warm
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features-2');
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-3')), golden);
  // a worker of `vsdlab run -j <cores>`: one intra-op thread per session
  process.env.VSDLAB_WORKERS = String(availableParallelism());
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features-3');
  assert.deepEqual(await evaluateFixture(evaluateStage, fixture, join(dir, 'work-4')), golden);
});
