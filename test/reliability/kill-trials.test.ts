import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runKillTrials } from './kill-trials.js';
import { fromRoot, repoRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { vsdlab } from '../helpers/cli.js';
import { ensureSyntheticShapes } from '../helpers/synthetic-shapes.js';

// the short mode of scripts/kill-trials.js (RELIABILITY.md): 7 trials of one SIGKILL each, seed fixed, alternating
// the study with a sharded evaluation (it goes through every stage, and its workers outlive a killed runner) and
// the COCO prepare (a few seconds a trial); the full mode adds the unsharded study
test('kill trials: SIGKILL at random moments, then a re-run: same metrics and artifacts, nothing corrupt, no finished stage again', async () => {
  ensureSyntheticShapes();
  const figures = await runKillTrials({ experiment: 'test/fixtures/reliability/tiny-study.yaml', targets: ['sharded', 'prepare'], workDir: tempDir(), trials: 7, seed: 18, maxKills: 1, root: repoRoot });
  assert.equal(figures.trials, 7);
  assert.deepEqual(figures.trialsOf, { sharded: 4, prepare: 3 });
  assert.deepEqual(figures.failures, []);
  assert.deepEqual(figures.differences, []);
  assert.deepEqual(figures.corrupt, []);
  // a SIGKILL during a write leaves its hidden temp file; the next writer in that folder sweeps it (its writer is
  // dead): nothing is left, no lock, no `.work` folder, no temp file
  assert.deepEqual(figures.leftovers, []);
  assert.deepEqual(figures.recomputed, []);
  assert.ok(figures.kills >= 4, `at least 4 of the kills landed: ${JSON.stringify(figures.killsAt)}`);
});
