// The embedded study's synthetic dataset in data/synthetic-shapes, built once for every test that needs it. Test
// files run two at a time, and several may find it missing together: each builds into its own folder and renames
// it into place, so a test sees the set whole or not at all, and a builder that loses the race drops its copy
// (the build is deterministic: both copies hold the same bytes).
import assert from 'node:assert/strict';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { vsdlab } from './cli.js';
import { fromRoot } from './paths.js';

export function ensureSyntheticShapes(): void {
  if (existsSync(fromRoot('data/synthetic-shapes/manifest.json'))) return;
  const own = `data/.synthetic-shapes.${process.pid}.building`;
  rmSync(fromRoot(own), { recursive: true, force: true });
  const built = vsdlab(['datasets', 'build', 'datasets/synthetic-shapes.yaml', '--out', own]);
  assert.equal(built.code, 0, built.stderr);
  try {
    renameSync(fromRoot(own), fromRoot('data/synthetic-shapes'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    rmSync(fromRoot(own), { recursive: true, force: true });
  }
  assert.ok(existsSync(fromRoot('data/synthetic-shapes/manifest.json')), 'data/synthetic-shapes has no manifest after the build');
}
