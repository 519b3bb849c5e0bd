import type { Chart, Plugin } from 'chart.js';

/** an interval drawn around one data point, in data units; either axis may be left out */
export interface ErrorBar {
  xMin?: number;
  xMax?: number;
  yMin?: number;
  yMax?: number;
}

/** datasets carry their bars in `errorBars`, index-aligned with `data` */
export interface WithErrorBars {
  errorBars?: Array<ErrorBar | null>;
}

const CAP = 4;

/** Draws error bars with caps after the datasets: a few lines of canvas code instead of another dependency. */
export const errorBarsPlugin: Plugin = {
  id: 'vsdlabErrorBars',
  afterDatasetsDraw(chart: Chart) {
    const { ctx } = chart;
    chart.data.datasets.forEach((dataset, i) => {
      const bars = (dataset as WithErrorBars).errorBars;
      const meta = chart.getDatasetMeta(i);
      if (!bars || meta.hidden) return;
      const xScale = chart.scales[meta.xAxisID ?? 'x'];
      const yScale = chart.scales[meta.yAxisID ?? 'y'];
      if (!xScale || !yScale) return;
      ctx.save();
      ctx.strokeStyle = typeof dataset.borderColor === 'string' ? dataset.borderColor : '#333';
      ctx.lineWidth = 1.5;
      const segment = (x0: number, y0: number, x1: number, y1: number): void => {
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
      };
      meta.data.forEach((element, j) => {
        const bar = bars[j];
        if (!bar) return;
        const { x, y } = element.getProps(['x', 'y'], true) as { x: number; y: number };
        if (bar.yMin !== undefined && bar.yMax !== undefined) {
          const lo = yScale.getPixelForValue(bar.yMin);
          const hi = yScale.getPixelForValue(bar.yMax);
          segment(x, lo, x, hi);
          segment(x - CAP, lo, x + CAP, lo);
          segment(x - CAP, hi, x + CAP, hi);
        }
        if (bar.xMin !== undefined && bar.xMax !== undefined) {
          const lo = xScale.getPixelForValue(bar.xMin);
          const hi = xScale.getPixelForValue(bar.xMax);
          segment(lo, y, hi, y);
          segment(lo, y - CAP, lo, y + CAP);
          segment(hi, y - CAP, hi, y + CAP);
        }
      });
      ctx.restore();
    });
  },
};
