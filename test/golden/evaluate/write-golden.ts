// Writes test/golden/evaluate/results.json: the evaluate stage's results on the fixture of
// test/helpers/evaluate-fixture.ts, made by the stage of a given build (the build before a change that must not
// move a number: the golden of issue 19's evaluation work came from commit db48915's build).
// run: npm run build && VSDLAB_FRECHET_BACKEND=js node dist/test/golden/evaluate/write-golden.js <that build's dist/src/stages/evaluate-stage.js> <its commit>
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Stage } from '../../../src/tracking/stage.js';
import { evaluateFixture, writeEvaluateFixture } from '../../helpers/evaluate-fixture.js';
import { fromRoot } from '../../helpers/paths.js';

const [module, commit] = process.argv.slice(2);
if (!module || !commit || process.env.VSDLAB_FRECHET_BACKEND !== 'js') {
  console.error('usage: VSDLAB_FRECHET_BACKEND=js node dist/test/golden/evaluate/write-golden.js <dist/src/stages/evaluate-stage.js of the build to record> <its commit>');
  process.exit(2);
}
const { evaluateStage } = (await import(resolve(module))) as { evaluateStage: Stage };
const dir = mkdtempSync(join(tmpdir(), 'vsdlab-golden-evaluate-'));
try {
  process.env.VSDLAB_FEATURE_CACHE = join(dir, 'features');
  const fixture = await writeEvaluateFixture(dir);
  const result = await evaluateFixture(evaluateStage, fixture, join(dir, 'work'));
  writeFileSync(fromRoot('test/golden/evaluate/results.json'), `${JSON.stringify({ made_by: `the evaluate stage of commit ${commit}, FID through the js Fréchet backend`, result }, null, 1)}\n`);
  console.log('wrote test/golden/evaluate/results.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
