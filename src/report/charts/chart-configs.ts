import type { ChartConfiguration, ChartDataset } from 'chart.js';
import type { CurveSet, Column, Report } from '../types.js';
import type { WithErrorBars } from './error-bars.js';

// chart.js configurations built from the report alone (pure); render-charts.ts turns them into PNGs

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export const colour = (i: number, alpha = 1): string => {
  const hex = PALETTE[i % PALETTE.length] ?? '#333333';
  const [r, g, b] = [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16));
  return alpha === 1 ? hex : `rgba(${r}, ${g}, ${b}, ${alpha})`;
};

type Dataset = ChartDataset & WithErrorBars;

const title = (text: string) => ({ display: true, text, font: { size: 14 } });

/** FID against CLIP: each seed as a faint point, each cell's mean with ± std bars on both axes */
export function tradeoffChart(report: Report, fid: Column, clip: Column): ChartConfiguration {
  const datasets: Dataset[] = [];
  report.rows.forEach((row, i) => {
    const f = row.cells[fid.id];
    const c = row.cells[clip.id];
    if (!f?.n || !c?.n || f.mean === null || c.mean === null) return;
    const byRun = new Map(c.values.map((v) => [v.run, v.value]));
    const points = f.values.filter((v) => byRun.has(v.run)).map((v) => ({ x: byRun.get(v.run) ?? 0, y: v.value }));
    datasets.push({ type: 'scatter', label: `${row.label} (seeds)`, data: points, backgroundColor: colour(i, 0.35), borderColor: colour(i, 0.35), pointRadius: 3 });
    datasets.push({
      type: 'scatter',
      label: row.label,
      data: [{ x: c.mean, y: f.mean }],
      backgroundColor: colour(i),
      borderColor: colour(i),
      pointRadius: 6,
      pointStyle: 'rectRot',
      errorBars: [{ xMin: c.mean - (c.std ?? 0), xMax: c.mean + (c.std ?? 0), yMin: f.mean - (f.std ?? 0), yMax: f.mean + (f.std ?? 0) }],
    });
  });
  return {
    type: 'scatter',
    data: { datasets },
    options: {
      animation: false,
      plugins: {
        title: title('FID ↓ vs CLIP score ↑ (faint: single seeds; bold: mean ± std)'),
        legend: { labels: { filter: (item) => !item.text.endsWith('(seeds)') } },
      },
      scales: { x: { title: { display: true, text: `${clip.label} ↑` } }, y: { title: { display: true, text: `${fid.label} ↓` } } },
    },
  };
}

/** one bar per cell with ± std error bars */
export function barsChart(report: Report, column: Column): ChartConfiguration {
  const rows = report.rows.filter((r) => r.cells[column.id]?.n);
  const dataset: Dataset = {
    type: 'bar',
    label: `${column.label} (mean ± std)`,
    data: rows.map((r) => r.cells[column.id]?.mean ?? 0),
    backgroundColor: rows.map((_, i) => colour(i, 0.6)),
    borderColor: '#222222',
    borderWidth: 1,
    errorBars: rows.map((r) => {
      const cell = r.cells[column.id];
      return !cell || cell.std === null || cell.mean === null ? null : { yMin: cell.mean - cell.std, yMax: cell.mean + cell.std };
    }),
  };
  return {
    type: 'bar',
    data: { labels: rows.map((r) => r.label), datasets: [dataset] },
    options: {
      animation: false,
      plugins: { title: title(`${column.label} ${column.direction === 'lower' ? '↓' : '↑'} per cell (mean ± std over seeds)`), legend: { display: false } },
      scales: { y: { beginAtZero: true, title: { display: true, text: column.label } } },
    },
  };
}

const LOSS = /loss/i;
const GRAD_NORM = /grad.?norm/i;

/** losses on the left axis, gradient norms (dashed) on the right, one line per seed and series */
export function trainingChart(curves: CurveSet): ChartConfiguration {
  const datasets: Dataset[] = [];
  const all = [...new Set(curves.runs.flatMap((r) => Object.keys(r.series)))];
  const named = all.filter((n) => LOSS.test(n) || GRAD_NORM.test(n));
  const plotted = named.length > 0 ? named : all.slice(0, 2);
  const hasNorm = plotted.some((n) => GRAD_NORM.test(n));
  plotted.forEach((name, s) => {
    curves.runs.forEach((run, k) => {
      const norm = GRAD_NORM.test(name);
      datasets.push({
        type: 'line',
        label: `${name}, seed ${run.seed ?? '?'}`,
        data: (run.series[name] ?? []).map(([x, y]) => ({ x, y })),
        borderColor: colour(s, 1 - (0.5 * k) / Math.max(1, curves.runs.length)),
        backgroundColor: colour(s, 0.2),
        borderDash: norm ? [5, 3] : [],
        pointRadius: 0,
        borderWidth: 1.5,
        yAxisID: norm ? 'y1' : 'y',
      });
    });
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      plugins: { title: title(`Training: ${curves.label}`) },
      scales: {
        x: { type: 'linear', title: { display: true, text: 'step' } },
        y: { type: 'linear', position: 'left', title: { display: true, text: 'loss' } },
        ...(hasNorm ? { y1: { type: 'linear' as const, position: 'right' as const, title: { display: true, text: 'gradient norm' }, grid: { drawOnChartArea: false } } } : {}),
      },
    },
  };
}
