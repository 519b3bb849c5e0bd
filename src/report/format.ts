import type { Column, ValueCell } from './types.js';

// number formatting shared by every renderer: one rule, so the formats agree on what a tie is

/** decimals per metric: FID-like distances to 2 places, scores in [0, 1] to 4 (CLIP cosines differ in the 3rd) */
const DECIMALS: Record<string, number> = { fid: 2, kid: 4, 'clip-score': 4, precision: 3, recall: 3, faithfulness: 3, is: 2 };

export const decimalsFor = (metric: string): number => DECIMALS[metric] ?? 3;

const LABELS: Record<string, string> = {
  fid: 'FID',
  kid: 'KID',
  'clip-score': 'CLIP',
  precision: 'Precision',
  recall: 'Recall',
  faithfulness: 'Faithfulness',
  is: 'IS',
  hpsv2: 'HPSv2',
};

export const metricLabel = (metric: string): string => LABELS[metric] ?? metric;

export const arrow = (direction: 'lower' | 'higher'): string => (direction === 'lower' ? '↓' : '↑');

/** fixed decimals without a "-0.00" */
export function fixed(value: number, decimals: number): string {
  const s = value.toFixed(decimals);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

export const signed = (value: number, decimals: number): string => {
  const s = fixed(value, decimals);
  return value > 0 && Number(s) !== 0 ? `+${s}` : s;
};

/** the parts every format shows for one cell; each renderer adds its own markup */
export interface CellText {
  mean: string;
  std: string | null;
  ci: string | null;
  /** runs behind the number when fewer than the row's */
  n: number;
}

export function cellText(cell: ValueCell | undefined, column: Column): CellText | null {
  if (!cell || cell.mean === null) return null;
  const d = column.decimals;
  return {
    mean: fixed(cell.mean, d),
    std: cell.std === null ? null : fixed(cell.std, d),
    ci: cell.ci === null ? null : `${fixed(cell.ci.low, d)}, ${fixed(cell.ci.high, d)}`,
    n: cell.n,
  };
}

export const columnHeader = (column: Column, disambiguate: boolean): string =>
  `${column.label} ${arrow(column.direction)}${disambiguate ? ` [${column.fingerprint.slice(0, 8)}]` : ''}`;

/** metric names that appear under more than one protocol: their headers carry the fingerprint */
export function ambiguousNames(columns: readonly Column[]): Set<string> {
  const seen = new Map<string, number>();
  for (const c of columns) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
  return new Set([...seen].filter(([, n]) => n > 1).map(([name]) => name));
}
