import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, escapeLatex, escapeMarkdown } from '../../src/report/escape.js';
import { renderHtml } from '../../src/report/renderers/html.js';
import { renderMarkdown } from '../../src/report/renderers/markdown.js';
import { renderLatex } from '../../src/report/renderers/latex.js';
import { buildReport } from '../../src/report/build-report.js';
import type { CollectedRuns } from '../../src/report/collect-runs.js';
import { metricRecord } from '../../src/tracking/results.js';
import type { RunRecord } from '../../src/report/types.js';

const EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

test('escapers turn markup into text', () => {
  assert.equal(escapeHtml(EVIL), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
  assert.equal(escapeMarkdown('a|b *c* <b>'), 'a\\|b \\*c\\* &lt;b&gt;');
  assert.equal(escapeLatex('50% of x_0 & $y$ {ε} ± ↓'), '50\\% of x\\_0 \\& \\$y\\$ \\{$\\varepsilon$\\} $\\pm$ $\\downarrow$');
});

test('a caption, a label or an error containing <script> renders as text in every format', () => {
  const run: RunRecord = {
    name: 'r-s0', dir: '/r', experiment: 'e', varying: { 'generate.sampler': EVIL, seed: 0 }, config: { seed: 0 }, seed: 0, state: 'completed', stage: null,
    error: null, started: null, ended: null, host: EVIL, metrics: [metricRecord('fid', 1, 'lower', { dataset: EVIL })], provenance: null, stages: {}, history: {},
    samples: [{ index: 0, caption: EVIL, path: '/nonexistent.png' }],
  };
  const failed: RunRecord = { ...run, name: 'r-s1', seed: 1, varying: { ...run.varying, seed: 1 }, state: 'failed', error: EVIL, metrics: [] };
  const collected: CollectedRuns = { experiment: 'e', description: EVIL, varyingKeys: ['generate.sampler', 'seed'], runs: [run, failed], notes: [EVIL] };
  const report = buildReport(collected, { source: { kind: 'runs', dirs: ['/r'] }, aggregation: { kind: 'mean_std', ci: null }, references: [], generated: 't', title: EVIL });
  const html = renderHtml(report);
  assert.ok(!html.includes('<script'), 'no script element');
  assert.ok(!html.includes('<img src=x'), 'no injected element');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes(`<li>${escapeHtml(EVIL)}</li>`), 'the caption is listed as text');
  const md = renderMarkdown(report);
  assert.ok(!md.includes('<script') && md.includes('&lt;script&gt;'));
  assert.ok(!renderLatex(report).includes('<script'));
});
