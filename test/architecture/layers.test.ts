// The layering written in .dependency-cruiser.cjs holds for src/, and the rules do catch what they forbid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

function depcruise(cwd: string): Violation[] {
  const bin = fromRoot('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd, encoding: 'utf8' });
  assert.ok(r.stdout, `depcruise printed nothing (exit ${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** a throwaway tree with the project's rules and the given files (path → source) */
function tree(files: Record<string, string>): string {
  const dir = tempDir();
  copyFileSync(fromRoot('.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['src/**/*.ts'] }));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

const show = (vs: Violation[]): string => vs.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join('\n');

test('src/ follows the layers of .dependency-cruiser.cjs: no upward import, no folder or file cycle', () => {
  const violations = depcruise(fromRoot('.'));
  assert.deepEqual(violations, [], show(violations));
});

test('the rules catch an upward import, a sibling import, a folder cycle and an unplaced folder', () => {
  const violations = depcruise(
    tree({
      // util (layer 0) reaching up into tracking (layer 7): the loop the layering was made against
      'src/util/hash.ts': "import { store } from '../tracking/run-store.js';\nexport const h = store;\n",
      'src/tracking/run-store.ts': 'export const store = 1;\n',
      // siblings in one layer
      'src/data/a.ts': "import { m } from '../metrics/m.js';\nexport const a = m;\n",
      'src/metrics/m.ts': 'export const m = 1;\n',
      // two subfolders of one folder importing each other
      'src/report/renderers/r.ts': "import { c } from '../charts/c.js';\nexport const r = 1 + c;\n",
      'src/report/charts/c.ts': "import type { T } from '../renderers/t.js';\nexport const c: T = 1;\n",
      'src/report/renderers/t.ts': 'export type T = number;\n',
      // a folder the layers do not name
      'src/gadgets/g.ts': "import { m } from '../metrics/m.js';\nexport const g = m;\n",
    }),
  );
  const rules = new Set(violations.map((v) => v.rule.name));
  for (const rule of ['layer-0-util-onnx', 'layer-1-tensor-weights-data-metrics', 'no-folder-cycle', 'unknown-folder']) {
    assert.ok(rules.has(rule), `expected a ${rule} violation, got:\n${show(violations)}`);
  }
});
