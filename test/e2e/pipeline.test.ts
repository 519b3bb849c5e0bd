import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { tinyExperiment, writeTinyWorld } from './tiny-world.js';

test('every stage runs for real on a tiny world: students and teacher rows get FID, KID, P/R, CLIP score and faithfulness, and a report', async () => {
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), tinyExperiment(dir));
  const store = join(dir, 'runs');
  const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
  const run = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store], { env });
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const cells = readdirSync(join(store, 'tiny-study')).filter((n) => existsSync(join(store, 'tiny-study', n, 'metrics.json')));
  assert.equal(cells.length, 4, cells.join(', '));
  for (const cell of cells) {
    const metrics = JSON.parse(readFileSync(join(store, 'tiny-study', cell, 'metrics.json'), 'utf8')).metrics as Array<{ name: string; value: number }>;
    assert.deepEqual(metrics.map((m) => m.name), ['fid', 'kid', 'precision', 'recall', 'clip-score', 'faithfulness', 'attribute-accuracy']);
    assert.ok(metrics.every((m) => Number.isFinite(m.value)), JSON.stringify(metrics));
    const samples = readdirSync(join(store, 'tiny-study', cell, 'artifacts', 'generate', 'images'));
    assert.equal(samples.length, 8);
  }
  const vsd = cells.find((c) => c.startsWith('vsd-'));
  assert.ok(vsd);
  const history = readFileSync(join(store, 'tiny-study', vsd, 'artifacts', 'distill', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(history.map((h) => h.step), [1, 2, 3]);
  assert.ok(history.every((h) => typeof h.loss_lora === 'number'));

  const again = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store], { env });
  assert.equal(again.code, 0);
  assert.match(again.stderr, /4 already complete/);

  const report = vsdlab(['report', join(dir, 'exp.yaml'), '--store', store, '--out', join(dir, 'report')], { env });
  assert.equal(report.code, 0, report.stderr);
  for (const f of ['table.md', 'results.csv', 'index.html']) assert.ok(existsSync(join(dir, 'report', f)), f);
});
