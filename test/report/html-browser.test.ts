import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildReport } from '../../src/report/build-report.js';
import { collectFromExperiment } from '../../src/report/collect-runs.js';
import { loadReferences } from '../../src/report/references.js';
import { writeReport } from '../../src/report/write-report.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { CAPTIONS, buildFixtureRuns } from './fixture-runs.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

test('index.html opens offline in headless Chromium: table and charts visible, no console error, no network request', async () => {
  // CI installs Debian's chromium; a missing browser is a broken environment, not a reason to skip
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium); this test needs it`);
  const dir = tempDir();
  const { store, experiment } = await buildFixtureRuns(dir);
  const report = buildReport(await collectFromExperiment(experiment, store), {
    source: { kind: 'experiment', file: experiment },
    aggregation: { kind: 'mean_std', ci: null },
    references: [loadReferences(fromRoot('experiments/references/swiftbrush.yaml'))],
    generated: new Date().toISOString(),
  });
  const out = join(dir, 'report');
  await writeReport(report, out);

  const context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-profile-')), { executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    const outside: string[] = [];
    const requested: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      requested.push(url);
      if (url.startsWith('file:')) await route.continue();
      else {
        outside.push(url);
        await route.abort();
      }
    });
    await page.goto(pathToFileURL(join(out, 'index.html')).href, { waitUntil: 'load' });

    const results = page.locator('table.results');
    assert.ok(await results.isVisible(), 'the results table is visible');
    assert.equal(await results.locator('tbody tr').count(), 3);
    assert.match((await results.locator('tbody tr').first().textContent()) ?? '', /VSD \(LoRA teacher\), ε-param\./);
    const charts = page.locator('img.chart');
    assert.equal(await charts.count(), report.figures.filter((f) => f.kind !== 'grid').length);
    for (const img of await charts.all()) {
      await img.scrollIntoViewIfNeeded();
      assert.ok(await img.isVisible());
      assert.ok((await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)) > 0, `${await img.getAttribute('src')} loaded`);
    }
    assert.ok((await page.locator('img.grid').evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth)) > 0, 'the image grid loaded');
    // the caption with <script> is text on the page, not an element
    assert.equal(await page.locator('script').count(), 0);
    assert.ok(((await page.locator('ol.captions').textContent()) ?? '').includes(CAPTIONS[1] ?? '?'));

    const shot = join(dir, 'index.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was saved');
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(outside, [], 'no request leaves the report folder');
    assert.ok(requested.some((u) => u.endsWith('/charts/tradeoff.png')), 'the route saw the chart requests');
  } finally {
    await context.close();
  }
});
