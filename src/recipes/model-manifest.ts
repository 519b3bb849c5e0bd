import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../util/hash.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import { collectProvenance } from '../tracking/provenance.js';

/** `manifest.json` beside committed weights: every file's sha256, the recipe, the command and the results. */
export async function writeModelManifest(dir: string, recipeFile: string, extra: Record<string, unknown>): Promise<void> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name === 'manifest.json' || !statSync(join(dir, name)).isFile()) continue;
    files[name] = await sha256File(join(dir, name));
  }
  const prov = collectProvenance();
  await writeJsonAtomically(join(dir, 'manifest.json'), {
    recipe: recipeFile,
    command: `vsdlab train ${recipeFile}`,
    made: new Date().toISOString(),
    git: prov.git,
    node: prov.node,
    host: prov.host,
    files,
    ...extra,
  });
}
