import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { FIXTURE_EXPERIMENT, buildFixtureRuns } from './fixture-runs.js';

const fixture = async () => {
  const dir = tempDir();
  await buildFixtureRuns(dir);
  const runs = join(dir, 'runs', 'report-fixture');
  const cell = (prefix: string): string => join(runs, readdirSync(runs).find((n) => n.startsWith(prefix)) ?? `${prefix}-missing`);
  return { dir, store: join(dir, 'runs'), cell };
};

test('vsdlab report FILE writes every format and lists the failed run', async () => {
  const { dir, store } = await fixture();
  const out = join(dir, 'out');
  const r = vsdlab(['report', FIXTURE_EXPERIMENT, '--store', store, '--out', out, '--ci', 'bootstrap', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { cells: number; runs: number; incomplete: number; files: string[] };
  assert.deepEqual([summary.cells, summary.runs, summary.incomplete], [3, 9, 1]);
  for (const f of ['report.json', 'results.csv', 'summary.csv', 'table.md', 'table.tex', 'index.html', 'charts/tradeoff.png', 'grids/samples.png']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  const md = readFileSync(join(out, 'table.md'), 'utf8');
  assert.match(md, /## Incomplete runs \(1\)\n[\s\S]*sds-eps-s2-[0-9a-f]{8} \| SDS \(no LoRA teacher\), ε-param\. \| 2 \| failed/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.aggregation.ci.method, 'bootstrap-percentile');
  // results.csv is long form: 8 completed runs × their metrics + one row for the failed run
  const lines = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 1 + 3 * 3 + 5 * 2 + 1);
});

test('vsdlab report RUN_DIR... groups the given runs by the config keys that differ', async () => {
  const { dir, cell } = await fixture();
  const out = join(dir, 'picked');
  const r = vsdlab(['report', cell('vsd-eps-s0'), cell('vsd-eps-s1'), cell('sds-eps-s0'), '--out', out, '--format', 'md', 'csv', '--no-paper']);
  assert.equal(r.code, 0, r.stderr);
  const md = readFileSync(join(out, 'table.md'), 'utf8');
  assert.match(md, /\| VSD \(LoRA teacher\) \| 2 \| \*\*19\.85 ± 0\.21\*\*/);
  assert.match(md, /\| SDS \(no LoRA teacher\) \| 1 \| <ins>29\.70<\/ins>/);
  assert.doesNotMatch(md, /Against the paper/);
  assert.ok(!existsSync(join(out, 'index.html')), 'only the asked formats');
});

test('vsdlab compare shows only the differing config keys and the metric deltas', async () => {
  const { cell } = await fixture();
  const r = vsdlab(['compare', cell('vsd-eps-s0'), cell('sds-eps-s0'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout) as { config: Array<{ key: string; a: unknown; b: unknown }>; metrics: Array<{ name: string; delta: number | null; better: string | null; note: string | null }> };
  assert.deepEqual(c.config, [{ key: 'distill.lora_teacher.enabled', a: true, b: false }]);
  const [fid, fidLegacy, clip] = c.metrics;
  assert.equal(fid?.name, 'fid');
  assert.ok(Math.abs((fid?.delta ?? 0) - 10) < 1e-9);
  assert.equal(fid?.better, 'a');
  assert.equal(fidLegacy?.better, 'a');
  assert.equal(clip?.name, 'clip-score');
  assert.ok(Math.abs((clip?.delta ?? 0) - (0.279 - 0.3002)) < 1e-9);
  const text = vsdlab(['compare', cell('vsd-eps-s0'), cell('vsd-eps-s1')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /seed\s+0\s+1/);
  assert.match(text.stdout, /FID ↓ \[[0-9a-f]{8}\]\s+19\.70\s+20\.00\s+\+0\.30\s+A better/);
  assert.match(text.stdout, /FID ↓ \[[0-9a-f]{8}\]\s+21\.50\s+—\s+—\s+only in A/, 'the legacy FID was scored for seed 0 only');
});

test('bad inputs exit 2 with a message', async () => {
  const { dir } = await fixture();
  const missing = vsdlab(['report', join(dir, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file or folder/);
  const notRun = vsdlab(['compare', dir, dir]);
  assert.equal(notRun.code, 2);
  assert.match(notRun.stderr, /not a run folder/);
});
