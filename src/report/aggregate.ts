import { canonicalJson } from '../util/hash.js';
import type { MetricRecord } from '../tracking/results.js';
import { decimalsFor, fixed, metricLabel } from './format.js';
import { rowLabel } from './labels.js';
import { protocolDiff } from './protocol-diff.js';
import { bootstrapMeanCi, mean, sampleStd, seedFor } from './stats.js';
import type { Aggregation, Column, IncompleteRun, Rank, Row, RunRecord, ValueCell } from './types.js';

export const SEED_KEY = 'seed';

export interface Aggregated {
  columns: Column[];
  rows: Row[];
  incomplete: IncompleteRun[];
  notes: string[];
}

const columnId = (m: Pick<MetricRecord, 'name' | 'fingerprint'>): string => `${m.name}@${m.fingerprint.slice(0, 8)}`;

/** Groups runs over seeds (every varying key but `seed`), one column per (metric, protocol fingerprint). */
export function aggregate(runs: readonly RunRecord[], varyingKeys: readonly string[], aggregation: Aggregation): Aggregated {
  const groupKeys = varyingKeys.filter((k) => k !== SEED_KEY);
  const columns = collectColumns(runs);
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = canonicalJson(pick(run.varying, groupKeys));
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const rows: Row[] = [...groups].map(([key, members]) => {
    const varying = pick(members[0]?.varying ?? {}, groupKeys);
    const done = members.filter((r) => r.state === 'completed' && r.metrics.length > 0);
    const cells: Record<string, ValueCell> = {};
    for (const column of columns) {
      const values = done.flatMap((r) => r.metrics.filter((m) => columnId(m) === column.id).map((m) => ({ run: r.name, seed: r.seed, value: m.value })));
      const xs = values.map((v) => v.value);
      const ci = aggregation.ci ? bootstrapMeanCi(xs, { ...aggregation.ci, seed: seedFor(aggregation.ci.seed, `${key}|${column.id}`) }) : null;
      cells[column.id] = { n: xs.length, mean: mean(xs), std: sampleStd(xs), ci, values, rank: null };
    }
    return { key, label: rowLabel(varying, groupKeys), varying, runs: members.map((r) => r.name), seeds: members.map((r) => r.seed), n: done.length, cells };
  });
  for (const column of columns) {
    const ranks = rankValues(rows.map((r) => r.cells[column.id]?.mean ?? null), column.direction, column.decimals);
    rows.forEach((row, i) => {
      const cell = row.cells[column.id];
      if (cell) cell.rank = ranks[i] ?? null;
    });
  }
  const incomplete: IncompleteRun[] = [];
  for (const row of rows) {
    for (const run of runs.filter((r) => row.runs.includes(r.name))) {
      if (run.state === 'completed' && run.metrics.length > 0) continue;
      const error = run.state === 'completed' ? 'completed without metrics.json' : run.error;
      incomplete.push({ run: run.name, row: row.label, seed: run.seed, state: run.state, stage: run.stage, error });
    }
  }
  return { columns, rows, incomplete, notes: protocolNotes(columns) };
}

function collectColumns(runs: readonly RunRecord[]): Column[] {
  const columns = new Map<string, Column>();
  for (const run of runs) {
    if (run.state !== 'completed') continue;
    for (const m of run.metrics) {
      const id = columnId(m);
      if (columns.has(id)) continue;
      columns.set(id, { id, name: m.name, label: metricLabel(m.name), direction: m.direction, fingerprint: m.fingerprint, protocol: m.protocol, decimals: decimalsFor(m.name) });
    }
  }
  // the same metric's protocols stay next to each other, in first-seen order
  const order = [...new Set([...columns.values()].map((c) => c.name))];
  return [...columns.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/**
 * Best and second per column, by direction, on the values as printed: means equal at the shown precision
 * are ties and share a mark. Nothing is marked when fewer than two rows have a value.
 */
export function rankValues(values: ReadonlyArray<number | null>, direction: 'lower' | 'higher', decimals: number): Rank[] {
  const shown = values.map((v) => (v === null ? null : Number(fixed(v, decimals))));
  const present = shown.filter((v): v is number => v !== null);
  if (present.length < 2) return values.map(() => null);
  const distinct = [...new Set(present)].sort((a, b) => (direction === 'lower' ? a - b : b - a));
  const [best, second] = distinct;
  return shown.map((v) => (v === null ? null : v === best ? 'best' : v === second ? 'second' : null));
}

function protocolNotes(columns: readonly Column[]): string[] {
  const notes: string[] = [];
  const names = [...new Set(columns.map((c) => c.name))];
  for (const name of names) {
    const same = columns.filter((c) => c.name === name);
    if (same.length < 2) continue;
    const [first, ...rest] = same;
    if (!first) continue;
    const diffs = rest.map((c) => `[${first.fingerprint.slice(0, 8)}] vs [${c.fingerprint.slice(0, 8)}]: ${protocolDiff(first.protocol, c.protocol).join('; ')}`);
    notes.push(`${first.label} was measured under ${same.length} protocols, kept in separate columns and never averaged together (${diffs.join(' | ')}).`);
  }
  return notes;
}

const pick = (values: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(keys.filter((k) => k in values).map((k) => [k, values[k]]));
