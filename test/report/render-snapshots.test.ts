import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { buildReport } from '../../src/report/build-report.js';
import { collectFromExperiment } from '../../src/report/collect-runs.js';
import { loadReferences } from '../../src/report/references.js';
import { renderers } from '../../src/report/renderers/index.js';
import { renderMarkdown } from '../../src/report/renderers/markdown.js';
import { renderLatex } from '../../src/report/renderers/latex.js';
import { renderResultsCsv, renderSummaryCsv } from '../../src/report/renderers/csv.js';
import { parseOverride } from '../../src/config/overrides.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { buildFixtureRuns } from './fixture-runs.js';
import { matchSnapshot, normalise } from './snapshot.js';

const fixture = async () => {
  const dir = tempDir();
  const { store, experiment } = await buildFixtureRuns(dir);
  const collected = await collectFromExperiment(experiment, store);
  const references = [loadReferences(fromRoot('experiments/references/swiftbrush.yaml'))];
  const report = buildReport(collected, {
    source: { kind: 'experiment', file: 'test/fixtures/report/ablation.yaml' },
    aggregation: { kind: 'mean_std', ci: { method: 'bootstrap-percentile', level: 0.95, resamples: 2000, seed: 0 } },
    references,
    generated: '2026-01-01T00:00:00.000Z',
  });
  return { report, dir };
};

test('table.md, table.tex, results.csv and summary.csv match their snapshots', async () => {
  const { report } = await fixture();
  matchSnapshot('table.md', normalise(renderMarkdown(report)));
  matchSnapshot('table.tex', normalise(renderLatex(report)));
  matchSnapshot('results.csv', normalise(renderResultsCsv(report)));
  matchSnapshot('summary.csv', normalise(renderSummaryCsv(report)));
});

test('the fixture report has its rows, split FID columns, the failed run, and paper numbers kept apart', async () => {
  const { report } = await fixture();
  assert.deepEqual(report.rows.map((r) => r.label), ['VSD (LoRA teacher), ε-param.', 'VSD (LoRA teacher), x₀-param.', 'SDS (no LoRA teacher), ε-param.']);
  assert.deepEqual(report.rows.map((r) => r.n), [3, 3, 2]);
  assert.deepEqual(report.columns.map((c) => c.name), ['fid', 'fid', 'clip-score']);
  assert.equal(report.incomplete.length, 1);
  assert.match(report.incomplete[0]?.error ?? '', /out of memory/);
  assert.ok(report.references.comparisons.length > 0);
  assert.ok(report.references.comparisons.every((c) => !c.comparable && c.delta === null), 'the embedded study is never comparable with COCO numbers');
  assert.ok(report.references.comparisons.some((c) => c.reasons.some((r) => r.includes('dataset: coco2014-val in the paper vs synthetic-shapes-val'))));
  assert.match(renderMarkdown(report), /No paper number shares a protocol with our columns/);
});

test('charts and the image grid render as PNGs of the expected shape', async () => {
  const { report } = await fixture();
  const charts = await renderers.get('charts')!.render(report);
  assert.deepEqual(charts.map((f) => f.path).sort(), ['charts/bars-1-fid.png', 'charts/bars-2-fid.png', 'charts/bars-3-clip-score.png', 'charts/tradeoff.png', 'charts/training-1.png', 'charts/training-2.png', 'charts/training-3.png']);
  for (const f of charts) {
    const meta = await sharp(Buffer.from(f.content)).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, 800);
  }
  const [grid] = await renderers.get('grids')!.render(report);
  assert.ok(grid);
  const meta = await sharp(Buffer.from(grid.content)).metadata();
  assert.equal(meta.width, 6 + 3 * (128 + 6), 'one column per cell');
  assert.ok((meta.height ?? 0) > 3 * 128, 'three caption rows');
  assert.deepEqual(report.grids[0]?.captions.length, 3);
  // the SDS cell listed its captions in reverse: its column must still show the image of the row's caption
  const sds = report.grids[0]!.cells.map((row) => row[2]);
  assert.deepEqual(sds.map((p) => p?.endsWith('.png')), [true, true, true]);
  assert.ok(sds[0]?.endsWith('images/2.png'), 'caption 0 is SDS image 2');
});

test('provenance names the commit, hosts, backends and measurement fingerprints of the runs', async () => {
  const { report } = await fixture();
  const p = report.provenance;
  assert.equal(p.commits.reduce((a, c) => a + c.runs, 0), 9);
  assert.ok(p.commits.every((c) => c.dirty === null || typeof c.dirty === 'boolean'));
  assert.equal(p.hosts.reduce((a, h) => a + h.runs, 0), 9);
  assert.ok(p.backends.some((b) => b.name === 'distill backend' && b.value === 'wasm'));
  assert.ok(p.backends.some((b) => b.name === 'generate backend' && b.value === 'onnxruntime-cpu'));
  assert.ok(p.backends.some((b) => b.name === 'onnxruntime-node'), 'package versions from provenance.json');
  assert.ok(p.fingerprints.some((f) => f.key === 'extractor_sha256' && f.value === 'a'.repeat(64) && f.columns.length === 2));
  assert.ok(p.fingerprints.some((f) => f.key === 'dataset' && f.value === 'synthetic-shapes-val'));
  assert.ok(p.started !== null && p.ended !== null && p.started <= p.ended);
});

test('cells of the plan that never ran are listed, and run folders outside the plan are named', async () => {
  const dir = tempDir();
  const { store, experiment } = await buildFixtureRuns(dir);
  const collected = await collectFromExperiment(experiment, store, { overrides: [parseOverride('distill.steps=13')] });
  const report = buildReport(collected, { source: { kind: 'experiment', file: experiment }, aggregation: { kind: 'mean_std', ci: null }, references: [], generated: 't' });
  assert.equal(report.rows.length, 3);
  assert.deepEqual(report.rows.map((r) => r.n), [0, 0, 0]);
  assert.equal(report.incomplete.length, 9);
  assert.ok(report.incomplete.every((i) => i.state === 'pending' && i.error === 'never run'));
  assert.match(report.notes.join(' '), /9 run folder\(s\) in the store are not cells of the current plan/);
  assert.match(renderMarkdown(report), /No run has metrics yet[\s\S]*## Incomplete runs \(9\)/);
});
