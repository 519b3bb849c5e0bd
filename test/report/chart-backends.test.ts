import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { ChartConfiguration } from 'chart.js';
import type { Report } from '../../src/report/types.js';
import { buildReport } from '../../src/report/build-report.js';
import { collectFromExperiment } from '../../src/report/collect-runs.js';
import { barsChart, colour, tradeoffChart } from '../../src/report/charts/chart-configs.js';
import type { WithErrorBars } from '../../src/report/charts/error-bars.js';
import { chartBackend, chartRenderer, type ChartBackend } from '../../src/report/charts/chart-canvas.js';
import { tempDir } from '../helpers/temp.js';
import { buildFixtureRuns } from './fixture-runs.js';

// Mean absolute difference allowed between the two paths, in 0–255 units averaged over every RGBA byte.
// Not measured across the paths yet: the machine this was written on cannot build `canvas` (no cairo headers),
// so only the skia path ran there. Measured on skia alone with the fixture's charts: DejaVu Serif instead of
// the default font (other glyphs and label widths) moves a chart by 0.96–1.33, moving the plot by one pixel
// (layout padding 1) by 1.57–2.33; leaving out the white background moves it by 166–250 and the bar fills by 35.
// 4 admits other text rasterisation plus a one-pixel layout shift; the colour and error-bar checks below
// catch what this average cannot (a missing scatter dataset moved the tradeoff chart by only 0.68).
const TOLERANCE = 4;
const WIDTH = 800;
const HEIGHT = 480;

const fixtureReport = async (): Promise<Report> => {
  const { store, experiment } = await buildFixtureRuns(tempDir());
  return buildReport(await collectFromExperiment(experiment, store), {
    source: { kind: 'experiment', file: experiment },
    aggregation: { kind: 'mean_std', ci: null },
    references: [],
    generated: 't',
  });
};

// built afresh for each path: chart.js writes into the config it is given
const configs = (report: Report): Record<string, ChartConfiguration> => {
  const fid = report.columns.find((c) => c.name === 'fid');
  const clip = report.columns.find((c) => c.name === 'clip-score');
  assert.ok(fid && clip);
  return { tradeoff: tradeoffChart(report, fid, clip), bars: barsChart(report, fid) };
};

const rgba = async (png: Buffer): Promise<{ width: number; height: number; data: Buffer }> => {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 4);
  return { width: info.width, height: info.height, data };
};

/** pixels within ±2 of an rgb colour (a filled shape's inside is drawn exactly in its colour) */
const pixelsOf = (data: Buffer, [r, g, b]: [number, number, number]): number => {
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (Math.abs((data[i] ?? 0) - r) <= 2 && Math.abs((data[i + 1] ?? 0) - g) <= 2 && Math.abs((data[i + 2] ?? 0) - b) <= 2) n++;
  return n;
};
const rgbOf = (hex: string): [number, number, number] => [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16)) as [number, number, number];
/** the colour chart.js paints `alpha` of over white */
const overWhite = (rgb: [number, number, number], alpha: number): [number, number, number] => rgb.map((c) => Math.round(alpha * c + (1 - alpha) * 255)) as [number, number, number];

const meanAbsDiff = (a: Buffer, b: Buffer): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
};

test('charts render through every chart path available here, and both paths draw the same pixels', async (t) => {
  const available = new Map<ChartBackend, (config: ChartConfiguration) => Promise<Buffer>>();
  for (const backend of ['chartjs-node-canvas', '@napi-rs/canvas'] as const) {
    try {
      available.set(backend, await chartRenderer(backend));
    } catch (e) {
      t.diagnostic(`chart path ${backend}: not available here (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
    }
  }
  assert.ok(available.size > 0, 'no chart path loads: neither chartjs-node-canvas (canvas) nor @napi-rs/canvas');
  const used = await chartBackend();
  assert.ok(available.has(used));
  t.diagnostic(`chart paths tested: ${[...available.keys()].join(', ')}; reports render through ${used}`);

  const report = await fixtureReport();
  for (const name of Object.keys(configs(report))) {
    const images = new Map<ChartBackend, Buffer>();
    for (const [backend, render] of available) {
      const image = await rgba(await render(configs(report)[name]!));
      assert.equal(image.width, WIDTH, `${name} via ${backend}: width`);
      assert.equal(image.height, HEIGHT, `${name} via ${backend}: height`);
      assert.deepEqual([...image.data.subarray(0, 4)], [255, 255, 255, 255], `${name} via ${backend}: opaque white background`);
      let drawn = 0;
      for (let i = 0; i < image.data.length; i += 4) if (image.data[i] !== 255 || image.data[i + 1] !== 255 || image.data[i + 2] !== 255) drawn++;
      const share = drawn / (WIDTH * HEIGHT);
      assert.ok(share > 0.02 && share < 0.6, `${name} via ${backend}: ${(share * 100).toFixed(1)}% of pixels drawn`);
      // every row's colour is drawn: solid mean points on the trade-off chart, 0.6-alpha bars on the bar chart
      for (let row = 0; row < report.rows.length; row++) {
        const want = name === 'tradeoff' ? rgbOf(colour(row)) : overWhite(rgbOf(colour(row)), 0.6);
        assert.ok(pixelsOf(image.data, want) >= 20, `${name} via ${backend}: row ${row} drawn in rgb(${want.join(', ')})`);
      }
      images.set(backend, image.data);
    }
    // the error-bar plugin is active on this path: the same chart without its bars draws other pixels
    for (const [backend, render] of available) {
      const bare = configs(report)[name]!;
      for (const dataset of bare.data.datasets) delete (dataset as WithErrorBars).errorBars;
      const without = await rgba(await render(bare));
      assert.ok(meanAbsDiff(without.data, images.get(backend)!) > 0, `${name} via ${backend}: error bars drawn`);
    }
    const nodeCanvas = images.get('chartjs-node-canvas');
    const napi = images.get('@napi-rs/canvas');
    if (nodeCanvas && napi) {
      const diff = meanAbsDiff(nodeCanvas, napi);
      t.diagnostic(`${name}: mean absolute difference between the paths ${diff.toFixed(2)} (tolerance ${TOLERANCE})`);
      assert.ok(diff < TOLERANCE, `${name}: the two chart paths differ by ${diff.toFixed(2)} on average`);
    }
  }
});
