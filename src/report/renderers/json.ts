import type { Renderer } from './renderer.js';

export const jsonRenderer: Renderer = {
  name: 'json',
  describe: 'report.json (the aggregated report every other format renders from)',
  render: async (report) => [{ path: 'report.json', content: `${JSON.stringify(report, null, 2)}\n` }],
};
