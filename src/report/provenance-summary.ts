import type { Column, ProvenanceSummary, RunRecord } from './types.js';

// packages that decide how numbers were computed; their versions go in the provenance section
const BACKEND_PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'onnxruntime-node', 'sharp'];

const FINGERPRINT_KEY = /sha256|fingerprint|^dataset$|^captions$|^reference$|^split$|extractor|model|encoder/;

function count<T>(items: readonly T[], key: (t: T) => string): Map<string, { item: T; runs: number }> {
  const out = new Map<string, { item: T; runs: number }>();
  for (const item of items) {
    const k = key(item);
    const seen = out.get(k);
    if (seen) seen.runs++;
    else out.set(k, { item, runs: 1 });
  }
  return out;
}

/** Which code, machines, backends and measurement assets produced the numbers. */
export function summarizeProvenance(runs: readonly RunRecord[], columns: readonly Column[]): ProvenanceSummary {
  const ran = runs.filter((r) => r.provenance !== null || r.started !== null);
  const commits = [...count(ran, (r) => `${r.provenance?.commit ?? ''}|${String(r.provenance?.dirty)}`).values()].map(({ item, runs: n }) => ({
    commit: item.provenance?.commit ?? null,
    dirty: item.provenance?.dirty ?? null,
    branch: item.provenance?.branch ?? null,
    runs: n,
  }));
  const hosts = [...count(ran, (r) => r.host ?? r.provenance?.host ?? 'unknown').entries()].map(([host, { runs: n }]) => ({ host, runs: n }));
  const backendItems: Array<{ name: string; value: string }> = [];
  for (const r of ran) {
    const distill = r.config.distill as { backend?: unknown } | undefined;
    if (typeof distill?.backend === 'string') backendItems.push({ name: 'distill.backend (config)', value: distill.backend });
    for (const [stage, s] of Object.entries(r.stages)) if (s.backend) backendItems.push({ name: `${stage} backend`, value: s.backend });
    for (const p of BACKEND_PACKAGES) {
      const version = r.provenance?.packages[p];
      if (version) backendItems.push({ name: p, value: version });
    }
    if (r.provenance?.node) backendItems.push({ name: 'node', value: r.provenance.node });
  }
  const backends = [...count(backendItems, (b) => `${b.name}|${b.value}`).values()].map(({ item, runs: n }) => ({ ...item, runs: n }));
  const fingerprints = new Map<string, { key: string; value: string; columns: string[] }>();
  for (const c of columns) {
    for (const [key, value] of [['protocol fingerprint', c.fingerprint] as const, ...Object.entries(c.protocol)]) {
      if (key !== 'protocol fingerprint' && !FINGERPRINT_KEY.test(key)) continue;
      if (value === null || value === undefined) continue;
      const v = String(value);
      const entry = fingerprints.get(`${key}|${v}`) ?? { key, value: v, columns: [] };
      entry.columns.push(c.id);
      fingerprints.set(`${key}|${v}`, entry);
    }
  }
  const starts = ran.map((r) => r.started).filter((s): s is string => s !== null).sort();
  const ends = ran.map((r) => r.ended).filter((s): s is string => s !== null).sort();
  return {
    commits,
    hosts,
    backends,
    fingerprints: [...fingerprints.values()],
    started: starts[0] ?? null,
    ended: ends.at(-1) ?? null,
    runs: ran.map((r) => ({
      run: r.name,
      commit: r.provenance?.commit ?? null,
      dirty: r.provenance?.dirty ?? null,
      host: r.host ?? r.provenance?.host ?? null,
      started: r.started,
      ended: r.ended,
      seconds: Object.values(r.stages).reduce((a, s) => a + s.seconds, 0),
    })),
  };
}
