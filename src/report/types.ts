import type { MetricRecord, Protocol } from '../tracking/results.js';
import type { RunState } from '../tracking/run-store.js';

// the aggregated report: every renderer reads only this, so the formats cannot disagree

export const REPORT_SCHEMA = 'vsdlab.report/1';

export type Rank = 'best' | 'second' | null;

/** One run folder as the report sees it (read by collect-runs.ts). */
export interface RunRecord {
  name: string;
  dir: string;
  experiment: string;
  /** varying keys of the plan (seed included), or of the given run folders */
  varying: Record<string, unknown>;
  config: Record<string, unknown>;
  seed: number | null;
  state: RunState | 'missing';
  stage: string | null;
  error: string | null;
  started: string | null;
  ended: string | null;
  host: string | null;
  metrics: MetricRecord[];
  provenance: RunProvenance | null;
  /** stage name → seconds, cached */
  stages: Record<string, { seconds: number; cached: boolean; backend: string | null }>;
  history: HistorySeries;
  samples: SampleImage[];
}

export interface RunProvenance {
  commit: string | null;
  dirty: boolean | null;
  branch: string | null;
  vsdlab: string | null;
  node: string | null;
  host: string | null;
  packages: Record<string, string>;
}

/** Training curves from the distill stage's history.jsonl, thinned to at most a few hundred points. */
export type HistorySeries = Record<string, Array<[number, number]>>;

export interface SampleImage {
  index: number;
  caption: string;
  /** absolute path of the image */
  path: string;
}

export interface Column {
  /** `<name>@<fingerprint8>`: a column is a metric under one protocol */
  id: string;
  name: string;
  label: string;
  direction: 'lower' | 'higher';
  fingerprint: string;
  protocol: Protocol;
  decimals: number;
}

export interface Interval {
  low: number;
  high: number;
}

export interface ValueCell {
  n: number;
  mean: number | null;
  /** sample standard deviation (n − 1); null below two runs */
  std: number | null;
  ci: Interval | null;
  values: Array<{ run: string; seed: number | null; value: number }>;
  rank: Rank;
}

export interface Row {
  /** stable key of the group: canonical JSON of its varying values without the seed */
  key: string;
  label: string;
  varying: Record<string, unknown>;
  /** runs of the group, completed or not */
  runs: string[];
  seeds: Array<number | null>;
  /** completed runs with metrics */
  n: number;
  cells: Record<string, ValueCell>;
}

export interface IncompleteRun {
  run: string;
  row: string;
  seed: number | null;
  state: RunRecord['state'];
  stage: string | null;
  error: string | null;
}

export interface ReferenceComparison {
  table: string;
  reference: string;
  row: string;
  column: string;
  metric: string;
  paper: number;
  ours: number | null;
  delta: number | null;
  comparable: boolean;
  /** why the protocols differ (empty when comparable) */
  reasons: string[];
}

export interface PaperTable {
  id: string;
  title: string;
  source: string;
  url: string | null;
  protocol: string;
  protocol_description: string;
  note: string | null;
  columns: Array<{ metric: string; label: string; direction: 'lower' | 'higher'; decimals: number | null }>;
  rows: Array<{ label: string; group: string | null; steps: number | null; values: Record<string, number | null>; note: string | null }>;
}

export interface Figure {
  id: string;
  kind: 'tradeoff' | 'training' | 'bars' | 'grid';
  title: string;
  /** path relative to the report folder */
  file: string;
  alt: string;
}

export interface GridSpec {
  id: string;
  title: string;
  file: string;
  captions: string[];
  columns: string[];
  /** cells[caption][column]: absolute image path or null when that cell has no such caption */
  cells: Array<Array<string | null>>;
}

export interface CurveSet {
  row: string;
  label: string;
  runs: Array<{ run: string; seed: number | null; series: HistorySeries }>;
}

export interface ProvenanceSummary {
  commits: Array<{ commit: string | null; dirty: boolean | null; branch: string | null; runs: number }>;
  hosts: Array<{ host: string; runs: number }>;
  backends: Array<{ name: string; value: string; runs: number }>;
  fingerprints: Array<{ key: string; value: string; columns: string[] }>;
  started: string | null;
  ended: string | null;
  runs: Array<{ run: string; commit: string | null; dirty: boolean | null; host: string | null; started: string | null; ended: string | null; seconds: number }>;
}

export interface Aggregation {
  kind: 'mean_std';
  ci: { method: 'bootstrap-percentile'; level: number; resamples: number; seed: number } | null;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  title: string;
  experiment: string;
  description: string | null;
  generated: string;
  source: { kind: 'experiment'; file: string } | { kind: 'runs'; dirs: string[] };
  varying_keys: string[];
  aggregation: Aggregation;
  columns: Column[];
  rows: Row[];
  runs: RunRecord[];
  incomplete: IncompleteRun[];
  notes: string[];
  references: { comparisons: ReferenceComparison[]; tables: PaperTable[]; notes: string[] };
  provenance: ProvenanceSummary;
  curves: CurveSet[];
  grids: GridSpec[];
  figures: Figure[];
}
