import { chartsRenderer } from './charts.js';
import { gridsRenderer } from './grids.js';
import { csvRenderer } from './csv.js';
import { htmlRenderer } from './html.js';
import { jsonRenderer } from './json.js';
import { latexRenderer } from './latex.js';
import { markdownRenderer } from './markdown.js';
import type { Renderer } from './renderer.js';

export type { RenderedFile, Renderer } from './renderer.js';

/** every output format by name; `vsdlab report --format` picks from these */
export const renderers: ReadonlyMap<string, Renderer> = new Map(
  [jsonRenderer, csvRenderer, markdownRenderer, latexRenderer, chartsRenderer, gridsRenderer, htmlRenderer].map((r) => [r.name, r]),
);
