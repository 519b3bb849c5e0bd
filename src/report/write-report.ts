import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sweepStaleTempFiles, writeFileAtomically } from '../util/atomic-write.js';
import { BadInputError } from '../errors.js';
import { renderers } from './renderers/index.js';
import type { Report } from './types.js';

/** Renders the report with the named renderers (all by default) into `outDir`; returns the written paths. */
export async function writeReport(report: Report, outDir: string, names: readonly string[] = [...renderers.keys()]): Promise<string[]> {
  const chosen = names.map((name) => {
    const r = renderers.get(name);
    if (!r) throw new BadInputError('REPORT_FORMAT', `unknown format "${name}"`, `one of ${[...renderers.keys()].join(', ')}`);
    return r;
  });
  const root = resolve(outDir);
  // a report killed midway left its writes' temp files; another `vsdlab report` may be writing here now, so only
  // those of dead writers go (util/atomic-write.ts)
  sweepStaleTempFiles(root, { recursive: true });
  // figures of an earlier report of other cells must not linger beside the new one
  for (const sub of ['charts', 'grids']) if (names.includes(sub)) rmSync(join(root, sub), { recursive: true, force: true });
  const written: string[] = [];
  for (const renderer of chosen) {
    for (const file of await renderer.render(report)) {
      const path = join(root, file.path);
      // a report killed midway leaves each file whole (the old one or the new one), never torn
      await writeFileAtomically(path, file.content);
      written.push(path);
    }
  }
  return written;
}
