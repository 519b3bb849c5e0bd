import { stringify } from 'csv-stringify/sync';
import { canonicalJson } from '../../util/hash.js';
import type { Report } from '../types.js';
import { tableCell } from './cells.js';
import type { Renderer } from './renderer.js';

const cellValue = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

/** results.csv: one row per run × metric (a run without metrics keeps one row, metric empty) */
export function renderResultsCsv(report: Report): string {
  const keys = report.varying_keys.filter((k) => k !== 'seed');
  const rowOf = new Map(report.rows.flatMap((row) => row.runs.map((run) => [run, row.label] as const)));
  const records: string[][] = [];
  for (const run of report.runs) {
    const base = [report.experiment, run.name, rowOf.get(run.name) ?? '', cellValue(run.seed), ...keys.map((k) => cellValue(run.varying[k])), run.state];
    if (run.state !== 'completed' || run.metrics.length === 0) {
      records.push([...base, '', '', '', '', '', '', '', run.error ?? '']);
      continue;
    }
    for (const m of run.metrics) {
      records.push([...base, m.name, `${m.name}@${m.fingerprint.slice(0, 8)}`, m.direction, String(m.value), cellValue(m.std), m.fingerprint, canonicalJson(m.protocol), '']);
    }
  }
  const header = ['experiment', 'run', 'cell', 'seed', ...keys, 'state', 'metric', 'column', 'direction', 'value', 'metric_std', 'fingerprint', 'protocol', 'error'];
  return stringify([header, ...records]);
}

/** summary.csv: one row per cell × column, the numbers behind every table */
export function renderSummaryCsv(report: Report): string {
  const keys = report.varying_keys.filter((k) => k !== 'seed');
  const records: string[][] = [];
  for (const row of report.rows) {
    for (const column of report.columns) {
      const cell = row.cells[column.id];
      records.push([
        row.label,
        ...keys.map((k) => cellValue(row.varying[k])),
        column.name,
        column.id,
        column.direction,
        column.fingerprint,
        String(cell?.n ?? 0),
        cellValue(cell?.mean),
        cellValue(cell?.std),
        cellValue(cell?.ci?.low),
        cellValue(cell?.ci?.high),
        cell?.rank ?? '',
        tableCell(row, column).text,
      ]);
    }
  }
  const header = ['cell', ...keys, 'metric', 'column', 'direction', 'fingerprint', 'n', 'mean', 'std', 'ci_low', 'ci_high', 'rank', 'shown'];
  return stringify([header, ...records]);
}

export const csvRenderer: Renderer = {
  name: 'csv',
  describe: 'results.csv (long form, one row per run × metric) and summary.csv (per cell)',
  render: async (report) => [
    { path: 'results.csv', content: renderResultsCsv(report) },
    { path: 'summary.csv', content: renderSummaryCsv(report) },
  ],
};
