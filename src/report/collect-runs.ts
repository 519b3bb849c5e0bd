import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BadInputError } from '../errors.js';
import { leaves, isPlainObject } from '../config/dotted.js';
import { planExperiment, type PlanOptions } from '../plan/plan.js';
import { isLockLive } from '../tracking/lock.js';
import { metricsFileSchema, samplesFileSchema, type MetricRecord } from '../tracking/results.js';
import type { RunStore, RunStatus, StageRecord } from '../tracking/run-store.js';
import type { HistorySeries, RunProvenance, RunRecord, SampleImage } from './types.js';

export interface CollectedRuns {
  experiment: string;
  description: string | null;
  varyingKeys: string[];
  runs: RunRecord[];
  notes: string[];
}

/** Every cell of an experiment file's plan, found in the store (a cell never run is listed as pending). */
export async function collectFromExperiment(file: string, store: RunStore, options: PlanOptions = {}): Promise<CollectedRuns> {
  const plan = await planExperiment(file, options);
  const runs = plan.cells.map((cell) => {
    const dir = store.runDir(plan.experiment, cell);
    const base = { name: cell.name, experiment: plan.experiment, varying: cell.varying, config: cell.config as unknown as Record<string, unknown> };
    return existsSync(dir) ? readRun(dir, base, store.cellLockPath(dir)) : pendingRun(dir, base);
  });
  const planned = new Set(plan.cells.map((c) => c.name));
  const stray = store.listRunDirs(plan.experiment).map((d) => basename(d)).filter((n) => !planned.has(n));
  const notes = stray.length > 0 ? [`${stray.length} run folder(s) in the store are not cells of the current plan and are left out: ${stray.sort().join(', ')}`] : [];
  return { experiment: plan.experiment, description: plan.description ?? null, varyingKeys: plan.varyingKeys, runs, notes };
}

/** Explicit run folders; the varying keys are the config keys whose values differ between them. */
export function collectFromDirs(dirs: readonly string[]): CollectedRuns {
  const runs = dirs.map((d) => {
    const dir = resolve(d);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new BadInputError('REPORT_NOT_A_RUN', `${d}: not a run folder (no config.json)`, 'pass an experiment file or folders under runs/<experiment>/');
    }
    return readRun(dir, undefined, join(dir, 'run.lock'));
  });
  const names = new Set<string>();
  for (const r of runs) {
    if (names.has(r.name)) throw new BadInputError('REPORT_DUPLICATE_RUN', `${r.name} is given twice`);
    names.add(r.name);
  }
  const varyingKeys = differingKeys(runs);
  for (const r of runs) r.varying = Object.fromEntries(varyingKeys.map((k) => [k, flatConfig(r.config)[k]]));
  const experiments = [...new Set(runs.map((r) => r.experiment))];
  return { experiment: experiments.join(' + '), description: null, varyingKeys, runs, notes: [] };
}

/** flattened `a.b.c` → value of a config (arrays are values) */
export function flatConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(leaves(config).map(([path, value]) => [path.join('.'), value]));
}

// comment-like fields never make a row
const IGNORED = new Set(['notes', 'tags']);

function differingKeys(runs: readonly RunRecord[]): string[] {
  const flat = runs.map((r) => flatConfig(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !IGNORED.has(k.split('.')[0] ?? ''));
  const differ = keys.filter((k) => new Set(flat.map((f) => JSON.stringify(f[k]))).size > 1);
  // the recorded plan order of varying keys first, then the rest as found; the seed last
  const planned = [...new Set(runs.flatMap((r) => Object.keys(r.varying)))];
  const ordered = [...planned.filter((k) => differ.includes(k)), ...differ.filter((k) => !planned.includes(k))];
  return [...ordered.filter((k) => k !== 'seed'), ...ordered.filter((k) => k === 'seed')];
}

interface RunBase {
  name: string;
  experiment: string;
  varying: Record<string, unknown>;
  config: Record<string, unknown>;
}

function pendingRun(dir: string, base: RunBase): RunRecord {
  const seed = typeof base.config.seed === 'number' ? base.config.seed : null;
  return { ...base, dir, seed, state: 'pending', stage: null, error: 'never run', started: null, ended: null, host: null, metrics: [], provenance: null, stages: {}, history: {}, samples: [] };
}

interface ConfigFile {
  experiment?: string;
  varying?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** One run folder; a damaged file makes the run incomplete with the reason, never the report fail. */
export function readRun(dir: string, base: RunBase | undefined, lockPath: string): RunRecord {
  const problems: string[] = [];
  const json = <T>(file: string): T | undefined => {
    const path = join(dir, file);
    if (!existsSync(path)) return undefined;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
      return undefined;
    }
  };
  const configFile = json<ConfigFile>('config.json') ?? {};
  const config = base?.config ?? configFile.config ?? {};
  const status = json<RunStatus>('status.json');
  const metrics = readMetrics(json<unknown>('metrics.json'), problems);
  const stageRecords = json<Partial<Record<string, StageRecord>>>('stages.json') ?? {};
  const samples = readSamples(join(dir, 'artifacts', 'generate'), problems);
  let state: RunRecord['state'] = status?.state ?? (base ? 'pending' : 'missing');
  let error = status?.error ? `${status.error.stage ?? '-'}: ${status.error.message}` : null;
  if (state === 'running' && !isLockLive(lockPath)) {
    state = 'interrupted';
    error = 'stale: the process that ran it is gone (vsdlab run resumes it)';
  }
  if (problems.length > 0 && state === 'completed') {
    state = 'failed';
    error = problems.join('; ');
  }
  const stages: RunRecord['stages'] = {};
  for (const [name, rec] of Object.entries(stageRecords)) {
    if (!rec) continue;
    const backend = isPlainObject(rec.result) && typeof rec.result.backend === 'string' ? rec.result.backend : null;
    stages[name] = { seconds: rec.seconds, cached: rec.cached, backend };
  }
  return {
    name: base?.name ?? basename(dir),
    dir,
    experiment: base?.experiment ?? configFile.experiment ?? basename(dirname(dir)),
    varying: base?.varying ?? configFile.varying ?? {},
    config,
    seed: typeof config.seed === 'number' ? config.seed : null,
    state,
    stage: status?.stage ?? status?.error?.stage ?? null,
    error,
    started: status?.started ?? null,
    ended: status?.ended ?? null,
    host: status?.host ?? null,
    metrics,
    provenance: readProvenance(json<Record<string, unknown>>('provenance.json')),
    stages,
    history: readHistory(join(dir, 'artifacts', 'distill', 'history.jsonl')),
    samples,
  };
}

function readMetrics(raw: unknown, problems: string[]): MetricRecord[] {
  if (raw === undefined) return [];
  const parsed = metricsFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data.metrics;
  problems.push(`metrics.json does not follow the results contract: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return [];
}

function readProvenance(raw: Record<string, unknown> | undefined): RunProvenance | null {
  if (!raw) return null;
  const git = isPlainObject(raw.git) ? raw.git : {};
  const host = isPlainObject(raw.host) ? raw.host : {};
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const packages = isPlainObject(raw.packages) ? Object.fromEntries(Object.entries(raw.packages).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return {
    commit: str(git.commit),
    dirty: typeof git.dirty === 'boolean' ? git.dirty : null,
    branch: str(git.branch),
    vsdlab: str(raw.vsdlab),
    node: str(raw.node),
    host: str(host.name),
    packages,
  };
}

const MAX_POINTS = 300;

/** numeric fields of history.jsonl other than time and step, each as [step, value], thinned evenly */
export function readHistory(path: string): HistorySeries {
  if (!existsSync(path)) return {};
  const series: HistorySeries = {};
  let line = 0;
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    line++;
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      continue; // a torn last line of a killed run
    }
    if (!isPlainObject(entry)) continue;
    const step = typeof entry.step === 'number' ? entry.step : line;
    for (const [key, value] of Object.entries(entry)) {
      if (key === 'time' || key === 'step' || typeof value !== 'number' || !Number.isFinite(value)) continue;
      (series[key] ??= []).push([step, value]);
    }
  }
  for (const [key, points] of Object.entries(series)) series[key] = thin(points, MAX_POINTS);
  return series;
}

function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const stride = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % stride === 0);
  const last = points.at(-1);
  if (last !== undefined && out.at(-1) !== last) out.push(last);
  return out;
}

function readSamples(stageDir: string, problems: string[]): SampleImage[] {
  const file = join(stageDir, 'samples.json');
  if (!existsSync(file)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    problems.push(`artifacts/generate/samples.json: ${(e as Error).message}`);
    return [];
  }
  const parsed = samplesFileSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push('artifacts/generate/samples.json does not follow the results contract');
    return [];
  }
  return parsed.data.samples
    .map((s) => ({ index: s.index, caption: s.caption, path: resolve(stageDir, s.file) }))
    .filter((s) => existsSync(s.path) && statSync(s.path).isFile());
}
