import type { Report } from '../types.js';

export interface RenderedFile {
  /** relative to the report folder */
  path: string;
  content: string | Uint8Array;
}

/** One output format. Renderers read only the aggregated report, so no two formats can disagree. */
export interface Renderer {
  name: string;
  describe: string;
  render(report: Report): Promise<RenderedFile[]>;
}
