import { composeGrid } from '../image-grid.js';
import type { Report } from '../types.js';
import type { RenderedFile, Renderer } from './renderer.js';

export const gridsRenderer: Renderer = {
  name: 'grids',
  describe: 'grids/*.png: samples for the same captions across cells, captions printed under them (sharp)',
  render: async (report: Report): Promise<RenderedFile[]> => Promise.all(report.grids.map(async (g) => ({ path: g.file, content: await composeGrid(g) }))),
};
