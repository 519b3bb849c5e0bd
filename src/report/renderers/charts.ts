import { renderCharts } from '../charts/render-charts.js';
import type { Renderer } from './renderer.js';

export const chartsRenderer: Renderer = {
  name: 'charts',
  describe: 'charts/*.png: FID vs CLIP trade-off, metric bars with error bars, training curves (chart.js)',
  render: renderCharts,
};
