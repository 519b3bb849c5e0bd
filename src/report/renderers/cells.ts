import { ambiguousNames, cellText, columnHeader, fixed, signed } from '../format.js';
import type { Column, Report, Row } from '../types.js';

// what every table shows, as plain strings; each renderer escapes and marks them up its own way

export interface TableCell {
  text: string;
  rank: 'best' | 'second' | null;
  /** the interval, shown where the format has room */
  ci: string | null;
}

export function headers(report: Report): string[] {
  const ambiguous = ambiguousNames(report.columns);
  return report.columns.map((c) => columnHeader(c, ambiguous.has(c.name)));
}

export function tableCell(row: Row, column: Column, pm = '±'): TableCell {
  const cell = row.cells[column.id];
  const t = cellText(cell, column);
  if (!t || !cell) return { text: '—', rank: null, ci: null };
  const parts = [t.std === null ? t.mean : `${t.mean} ${pm} ${t.std}`];
  if (t.n < row.n) parts.push(`(n=${t.n})`);
  return { text: parts.join(' '), rank: cell.rank, ci: t.ci === null ? null : `[${t.ci}]` };
}

export function protocolLine(column: Column): string {
  const fields = Object.entries(column.protocol).map(([k, v]) => `${k}=${v === null ? 'unstated' : String(v)}`);
  return `${column.label} [${column.fingerprint.slice(0, 8)}]: ${fields.join(', ') || 'no protocol recorded'}`;
}

export function aggregationLine(report: Report): string {
  const ci = report.aggregation.ci;
  const base = 'Cells are mean ± sample std (n − 1) over seeds; n = completed runs. Best per column is bold, second underlined, by each metric\'s direction; means equal at the shown precision are ties.';
  return ci
    ? `${base} Brackets: ${Math.round(ci.level * 100)}% percentile-bootstrap interval of the mean (${ci.resamples} resamples, seed ${ci.seed}; none below 2 runs, and wide or optimistic with few seeds).`
    : base;
}

export interface ComparisonLine {
  reference: string;
  row: string;
  metric: string;
  paper: string;
  ours: string;
  delta: string;
}

export function comparableLines(report: Report): ComparisonLine[] {
  return report.references.comparisons
    .filter((c) => c.comparable)
    .map((c) => {
      const column = report.columns.find((col) => col.id === c.column);
      const d = column?.decimals ?? 3;
      return {
        reference: `${c.reference} (${c.table})`,
        row: c.row,
        metric: column ? `${column.label} [${column.fingerprint.slice(0, 8)}]` : c.metric,
        paper: String(c.paper),
        ours: c.ours === null ? '—' : fixed(c.ours, d),
        delta: c.delta === null ? '—' : signed(c.delta, d),
      };
    });
}

/** a paper's number as the paper prints it */
export const paperValue = (v: number | null | undefined, decimals: number | null): string =>
  v === null || v === undefined ? '—' : decimals === null ? String(v) : fixed(v, decimals);
