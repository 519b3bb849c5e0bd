import { aggregate } from './aggregate.js';
import type { CollectedRuns } from './collect-runs.js';
import { compareWithReferences, type ReferenceFile } from './references.js';
import { summarizeProvenance } from './provenance-summary.js';
import { REPORT_SCHEMA, type Aggregation, type Column, type CurveSet, type Figure, type GridSpec, type Report, type Row, type RunRecord } from './types.js';

export interface BuildOptions {
  source: Report['source'];
  aggregation: Aggregation;
  references: readonly ReferenceFile[];
  title?: string;
  /** ISO time the report is made; a parameter so the core stays pure */
  generated: string;
  /** captions per image grid */
  gridCaptions?: number;
}

/** Runs → the aggregated report every renderer reads. Pure: reads nothing, writes nothing. */
export function buildReport(collected: CollectedRuns, options: BuildOptions): Report {
  const { columns, rows, incomplete, notes } = aggregate(collected.runs, collected.varyingKeys, options.aggregation);
  const references = compareWithReferences(options.references, rows, columns, collected.runs);
  const curves = trainingCurves(rows, collected.runs);
  const grids = imageGrids(rows, collected.runs, options.gridCaptions ?? 4);
  return {
    schema: REPORT_SCHEMA,
    title: options.title ?? `${collected.experiment}: results`,
    experiment: collected.experiment,
    description: collected.description,
    generated: options.generated,
    source: options.source,
    varying_keys: collected.varyingKeys,
    aggregation: options.aggregation,
    columns,
    rows,
    runs: collected.runs,
    incomplete,
    notes: [...collected.notes, ...notes],
    references,
    provenance: summarizeProvenance(collected.runs, columns),
    curves,
    grids,
    figures: figures(columns, rows, curves, grids),
  };
}

function trainingCurves(rows: readonly Row[], runs: readonly RunRecord[]): CurveSet[] {
  return rows
    .map((row) => ({
      row: row.key,
      label: row.label,
      runs: runs.filter((r) => row.runs.includes(r.name) && Object.keys(r.history).length > 0).map((r) => ({ run: r.name, seed: r.seed, series: r.history })),
    }))
    .filter((c) => c.runs.length > 0);
}

/** one run per row (the lowest seed with samples); rows = captions every chosen run generated, in index order */
function imageGrids(rows: readonly Row[], runs: readonly RunRecord[], perGrid: number): GridSpec[] {
  const chosen = rows
    .map((row) => ({ row, run: runs.filter((r) => row.runs.includes(r.name) && r.samples.length > 0).sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0))[0] }))
    .filter((c): c is { row: Row; run: RunRecord } => c.run !== undefined);
  if (chosen.length === 0) return [];
  const [first] = chosen;
  if (!first) return [];
  const ordered = [...first.run.samples].sort((a, b) => a.index - b.index).map((s) => s.caption);
  const common = [...new Set(ordered)].filter((caption) => chosen.every((c) => c.run.samples.some((s) => s.caption === caption)));
  // without shared captions, show the first run's and leave the others' cells empty rather than mislabel them
  const captions = (common.length > 0 ? common : [...new Set(ordered)]).slice(0, perGrid);
  return [
    {
      id: 'samples',
      title: `Samples for the same captions (seed ${chosen.map((c) => c.run.seed ?? '?').join('/')} per column)`,
      file: 'grids/samples.png',
      captions,
      columns: chosen.map((c) => c.row.label),
      cells: captions.map((caption) => chosen.map((c) => c.run.samples.find((s) => s.caption === caption)?.path ?? null)),
    },
  ];
}

function figures(columns: readonly Column[], rows: readonly Row[], curves: readonly CurveSet[], grids: readonly GridSpec[]): Figure[] {
  const out: Figure[] = [];
  const fid = columns.find((c) => c.name === 'fid');
  const clip = columns.find((c) => c.name === 'clip-score');
  if (fid && clip && rows.some((r) => r.cells[fid.id]?.n && r.cells[clip.id]?.n)) {
    out.push({ id: 'tradeoff', kind: 'tradeoff', title: 'FID vs CLIP score (each seed, and the mean ± std)', file: 'charts/tradeoff.png', alt: 'scatter of FID against CLIP score per cell' });
  }
  columns.forEach((c, i) => {
    if (rows.some((r) => r.cells[c.id]?.n)) {
      out.push({ id: `bars-${i + 1}`, kind: 'bars', title: `${c.label} (mean ± std over seeds)`, file: `charts/bars-${i + 1}-${c.name}.png`, alt: `bar chart of ${c.label} per cell with error bars` });
    }
  });
  curves.forEach((c, i) => {
    out.push({ id: `training-${i + 1}`, kind: 'training', title: `Training curves: ${c.label}`, file: `charts/training-${i + 1}.png`, alt: `loss and gradient norm over steps for ${c.label}` });
  });
  for (const g of grids) out.push({ id: `grid-${g.id}`, kind: 'grid', title: g.title, file: g.file, alt: 'image grid: captions as rows, cells as columns' });
  return out;
}
