import type { MetricRecord } from '../tracking/results.js';
import { flatConfig } from './collect-runs.js';
import { decimalsFor, fixed } from './format.js';
import { protocolDiff } from './protocol-diff.js';
import type { RunRecord } from './types.js';

export interface RunComparison {
  a: { name: string; dir: string; state: string };
  b: { name: string; dir: string; state: string };
  /** only the config keys whose values differ */
  config: Array<{ key: string; a: unknown; b: unknown }>;
  metrics: Array<{
    name: string;
    /** the protocol fingerprint (A's where the two differ) */
    fingerprint: string;
    direction: 'lower' | 'higher';
    a: number | null;
    b: number | null;
    /** b − a, only under the same protocol */
    delta: number | null;
    better: 'a' | 'b' | 'same' | null;
    note: string | null;
  }>;
}

/** Two runs: the config keys that differ and each metric's change from A to B. */
export function compareRuns(a: RunRecord, b: RunRecord): RunComparison {
  const fa = flatConfig(a.config);
  const fb = flatConfig(b.config);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])];
  const config = keys.filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k])).map((k) => ({ key: k, a: fa[k], b: fb[k] }));
  const names = [...new Set([...a.metrics, ...b.metrics].map((m) => m.name))];
  const metrics = names.flatMap((name) => metricDeltas(name, a.metrics.filter((m) => m.name === name), b.metrics.filter((m) => m.name === name)));
  return { a: { name: a.name, dir: a.dir, state: a.state }, b: { name: b.name, dir: b.dir, state: b.state }, config, metrics };
}

function metricDeltas(name: string, as: readonly MetricRecord[], bs: readonly MetricRecord[]): RunComparison['metrics'] {
  const out: RunComparison['metrics'] = [];
  const direction = (as[0] ?? bs[0])?.direction ?? 'lower';
  for (const ma of as) {
    const mb = bs.find((m) => m.fingerprint === ma.fingerprint);
    if (mb) {
      const delta = mb.value - ma.value;
      const shown = Number(fixed(delta, decimalsFor(name)));
      const better = shown === 0 ? 'same' : (delta < 0) === (direction === 'lower') ? 'b' : 'a';
      out.push({ name, fingerprint: ma.fingerprint, direction, a: ma.value, b: mb.value, delta, better, note: null });
    }
  }
  const loneA = as.filter((m) => !bs.some((x) => x.fingerprint === m.fingerprint));
  const loneB = bs.filter((m) => !as.some((x) => x.fingerprint === m.fingerprint));
  if (loneA.length > 0 && loneB.length > 0) {
    for (const [i, ma] of loneA.entries()) {
      const mb = loneB[Math.min(i, loneB.length - 1)];
      if (!mb) continue;
      out.push({ name, fingerprint: ma.fingerprint, direction, a: ma.value, b: mb.value, delta: null, better: null, note: `different protocols, no delta: ${protocolDiff(ma.protocol, mb.protocol).join('; ')}` });
    }
  } else {
    for (const ma of loneA) out.push({ name, fingerprint: ma.fingerprint, direction, a: ma.value, b: null, delta: null, better: null, note: 'only in A' });
    for (const mb of loneB) out.push({ name, fingerprint: mb.fingerprint, direction, a: null, b: mb.value, delta: null, better: null, note: 'only in B' });
  }
  return out;
}
