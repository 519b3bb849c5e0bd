import type { Argv } from 'yargs';
import { collectFromDirs } from '../../report/collect-runs.js';
import { compareRuns, type RunComparison } from '../../report/compare-runs.js';
import { arrow, decimalsFor, fixed, metricLabel, signed } from '../../report/format.js';
import { jsonOption } from '../options.js';
import { textTable } from '../table.js';
import type { Io } from '../io.js';

export const command = 'compare <runA> <runB>';
export const describe = 'two run folders side by side: only the config keys that differ, and the metric deltas (B − A)';

export const builder = (y: Argv) =>
  y
    .positional('runA', { type: 'string', demandOption: true, description: 'run folder A (runs/<experiment>/<cell>)' })
    .positional('runB', { type: 'string', demandOption: true, description: 'run folder B' })
    .option('json', jsonOption);

export async function handler(args: { runA: string; runB: string; json: boolean }, io: Io): Promise<number> {
  const { runs } = collectFromDirs([args.runA, args.runB]);
  const [a, b] = runs;
  if (!a || !b) return 2;
  const comparison = compareRuns(a, b);
  io.out(args.json ? JSON.stringify(comparison, null, 2) : renderComparison(comparison));
  return 0;
}

const show = (v: unknown): string => (v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v));

export function renderComparison(c: RunComparison): string {
  const lines = [`A: ${c.a.name} (${c.a.state})`, `B: ${c.b.name} (${c.b.state})`, ''];
  lines.push(c.config.length === 0 ? 'config: identical' : textTable([['config key', 'A', 'B'], ...c.config.map((d) => [d.key, show(d.a), show(d.b)])]));
  lines.push('');
  if (c.metrics.length === 0) lines.push('metrics: none recorded');
  else {
    const repeated = new Set(c.metrics.filter((m, i) => c.metrics.findIndex((x) => x.name === m.name) !== i).map((m) => m.name));
    const rows = c.metrics.map((m) => {
      const d = decimalsFor(m.name);
      const num = (v: number | null): string => (v === null ? '—' : fixed(v, d));
      const better = m.better === null ? '' : m.better === 'same' ? 'same at the shown precision' : `${m.better.toUpperCase()} better`;
      return [`${metricLabel(m.name)} ${arrow(m.direction)}${repeated.has(m.name) ? ` [${m.fingerprint.slice(0, 8)}]` : ''}`, num(m.a), num(m.b), m.delta === null ? '—' : signed(m.delta, d), m.note ?? better];
    });
    lines.push(textTable([['metric', 'A', 'B', 'B − A', ''], ...rows]));
  }
  return lines.join('\n');
}
