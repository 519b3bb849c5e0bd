import type { ChartConfiguration } from 'chart.js';
import type { Figure, Report } from '../types.js';
import { barsChart, trainingChart, tradeoffChart } from './chart-configs.js';
import { renderChartPng } from './chart-canvas.js';

const indexOf = (figure: Figure, prefix: string): number => Number(figure.id.slice(prefix.length)) - 1;

function configFor(report: Report, figure: Figure): ChartConfiguration | undefined {
  if (figure.kind === 'tradeoff') {
    const fid = report.columns.find((c) => c.name === 'fid');
    const clip = report.columns.find((c) => c.name === 'clip-score');
    return fid && clip ? tradeoffChart(report, fid, clip) : undefined;
  }
  if (figure.kind === 'bars') {
    const column = report.columns[indexOf(figure, 'bars-')];
    return column ? barsChart(report, column) : undefined;
  }
  if (figure.kind === 'training') {
    const curves = report.curves[indexOf(figure, 'training-')];
    return curves ? trainingChart(curves) : undefined;
  }
  return undefined;
}

/** every chart the report lists, as PNG (path relative to the report folder) */
export async function renderCharts(report: Report): Promise<Array<{ path: string; content: Buffer }>> {
  const files: Array<{ path: string; content: Buffer }> = [];
  for (const figure of report.figures) {
    const config = configFor(report, figure);
    if (config) files.push({ path: figure.file, content: await renderChartPng(config) });
  }
  return files;
}
