import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport } from '../../src/report/build-report.js';
import type { CollectedRuns } from '../../src/report/collect-runs.js';
import { renderHtml } from '../../src/report/renderers/html.js';
import { renderMarkdown } from '../../src/report/renderers/markdown.js';
import { renderLatex } from '../../src/report/renderers/latex.js';
import { writeReport } from '../../src/report/write-report.js';
import type { Report, RunRecord } from '../../src/report/types.js';
import { metricRecord } from '../../src/tracking/results.js';
import { tempDir } from '../helpers/temp.js';

// what a hostile (or careless) caption, cell slug, note, host name or error message may hold
const HOSTILE = [
  '<script>window.pwned=1</script>',
  '</td></tr></table><img src=x onerror="window.pwned=1">',
  '"><svg onload=window.pwned=1>',
  "' onmouseover='window.pwned=1",
  '<img src="http://example.invalid/track.png">',
  '<!-- <iframe src=//example.invalid>',
  '\\input{/etc/passwd} \\write18{rm -rf ~} \\def\\x{y} $\\alpha$ % comment & tab # ^ ~ _',
  '} \\end{tabular} \\begin{verbatim}',
  'a | b || `code` *em* [link](javascript:alert(1)) ![i](http://example.invalid/x.png)',
  'line one\nline two\r\n| injected | row |',
];
const hostile = HOSTILE.join(' ');

/** a report whose every user-written string is `s` (captions, cell values, notes, errors, hosts, title) */
function reportWith(s: string): Report {
  const run: RunRecord = {
    name: `cell-s0`, dir: '/r', experiment: 'e', varying: { 'generate.sampler': s, seed: 0 }, config: { seed: 0 }, seed: 0, state: 'completed', stage: null,
    error: null, started: null, ended: null, host: s, metrics: [metricRecord('fid', 1, 'lower', { dataset: s }), metricRecord('clip-score', 0.3, 'higher', { dataset: s })], provenance: null, stages: {}, history: {},
    samples: [{ index: 0, caption: s, path: '/nonexistent.png' }],
  };
  const other: RunRecord = { ...run, name: 'other-s0', varying: { 'generate.sampler': `${s}2`, seed: 0 }, metrics: [metricRecord('fid', 2, 'lower', { dataset: s }), metricRecord('clip-score', 0.2, 'higher', { dataset: s })] };
  const failed: RunRecord = { ...run, name: 'cell-s1', seed: 1, varying: { ...run.varying, seed: 1 }, state: 'failed', error: s, metrics: [] };
  const collected: CollectedRuns = { experiment: 'e', description: s, varyingKeys: ['generate.sampler', 'seed'], runs: [run, other, failed], notes: [s] };
  return buildReport(collected, { source: { kind: 'runs', dirs: ['/r'] }, aggregation: { kind: 'mean_std', ci: null }, references: [], generated: 't', title: s });
}

// the same report with harmless text: any structure the hostile one has beyond it came from user text
const BENIGN = 'plain words';
const tags = (html: string): string[] => [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[0]);

test('HTML: hostile strings in captions, cells, notes, errors and the title add no element, attribute or script', () => {
  const html = renderHtml(reportWith(hostile));
  assert.deepEqual(tags(html), tags(renderHtml(reportWith(BENIGN))), 'same element sequence as a harmless report');
  for (const bad of ['<script>window', 'onerror="', '<svg', '<iframe', '<img src="http', "' onmouseover"]) assert.ok(!html.includes(bad), bad);
});

test('Markdown: hostile strings add no table column, row, raw HTML, link or image', () => {
  const md = renderMarkdown(reportWith(hostile));
  const benign = renderMarkdown(reportWith(BENIGN));
  const pipes = (doc: string): number[] => doc.split('\n').filter((l) => l.startsWith('|')).map((l) => l.match(/(?<!\\)\|/g)?.length ?? 0);
  assert.deepEqual(pipes(md), pipes(benign), 'every table row has the harmless report\'s cell count');
  assert.equal(md.split('\n').length, benign.split('\n').length, 'no line added by a newline in user text');
  assert.ok(!/<(script|img|svg|iframe|!--)/i.test(md));
  assert.ok(!/(?<!\\)\]\((javascript|http)/.test(md), 'no live link');
});

test('LaTeX: hostile strings run no command (\\input, \\write18, \\def) and leave braces, math and tabular intact', () => {
  const tex = renderLatex(reportWith(hostile));
  const benign = renderLatex(reportWith(BENIGN));
  for (const bad of ['\\input{', '\\write18', '\\def\\x', '\\end{tabular} \\begin{verbatim}']) assert.ok(!tex.includes(bad), bad);
  const depth = (doc: string): number => [...doc.replace(/\\[{}]/g, '')].reduce((d, c) => (c === '{' ? d + 1 : c === '}' ? d - 1 : d), 0);
  assert.equal(depth(tex), 0, 'braces balance once escaped ones are removed');
  const cells = (doc: string): number[] => doc.split('\n').map((l) => l.match(/(?<!\\)&/g)?.length ?? 0);
  assert.deepEqual(cells(tex), cells(benign), 'no alignment tab added');
  assert.equal(tex.split('\n').length, benign.split('\n').length, 'no line added');
});

test('index.html of a hostile report runs no script and requests nothing outside its folder in Chromium (network blocked)', async (t) => {
  const CHROMIUM = '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) return t.skip(`${CHROMIUM} not found (test/report/html-browser.test.ts requires it)`);
  const out = join(tempDir(), 'report');
  await writeReport(reportWith(hostile), out, ['html']);
  const context = await chromium.launchPersistentContext(mkdtempSync(join(out, '..', 'profile-')), { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const outside: string[] = [];
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) await route.continue();
      else {
        outside.push(url);
        await route.abort();
      }
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });
    await page.mouse.move(10, 10);
    await page.mouse.move(400, 300);
    assert.equal(await page.evaluate('window.pwned'), undefined, 'no injected script ran');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(outside, [], 'no request outside file:');
    assert.ok(((await page.textContent('body')) ?? '').includes('<script>window.pwned=1</script>'), 'the caption shows as text');
  } finally {
    await context.close();
  }
});
