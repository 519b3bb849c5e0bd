// experiments/swiftbrush-sd21.yaml on a machine without its assets: `vsdlab plan` shows its cells, `vsdlab run` stops
// before starting anything and lists every missing file or folder, one line each, exit 2. The commands run in an
// empty folder, so the relative asset paths are missing whatever this checkout holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const FILE = fromRoot('experiments/swiftbrush-sd21.yaml');
const CELLS = ['vsd-eps', 'vsd-x0', 'vsd-v', 'sds-eps', 'sds-x0', 'sds-v', 'teacher-ddim-25step', 'teacher-one-step-1step', 'teacher-one-step-1step-one-step-alpha-bar0.0047'];
const ASSETS = [
  'models/stable-diffusion-2-1-base',
  'data/journeydb/prompts.txt',
  'data/coco2014/annotations/captions_val2014.json',
  'data/coco2014/sbv2-dataset.json',
  'models/fid-inception.onnx',
  'data/coco2014/val2014',
  'models/clip-vit-g-14/image.onnx',
  'models/clip-vit-g-14/text.onnx',
  'models/clip-vit-g-14/tokenizer.json',
  'models/swiftbrush',
];

test('vsdlab plan: the Table 1 rows and the 2 × 3 ablation, with the assets not found yet', () => {
  const cwd = tempDir();
  const r = vsdlab(['plan', FILE], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const cells = r.stdout.split('\n').map((l) => /^\d+\s+(\S+)/.exec(l)?.[1]).filter((c) => c !== undefined);
  assert.deepEqual(cells, CELLS);
  for (const asset of ASSETS) assert.match(r.stdout, new RegExp(`: ${asset.replace(/\./g, '\\.')}$`, 'm'), asset);
});

test('vsdlab run without the assets: exit 2, every missing one on its own line with its key and cells, nothing started', () => {
  const cwd = tempDir();
  const store = join(cwd, 'runs');
  const r = vsdlab(['run', FILE, '--store', store], { cwd });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, /^vsdlab: swiftbrush-sd21: 10 files or folders the cells read are missing; nothing was started:$/);
  const listed = lines.slice(1, -1).map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(listed, ASSETS);
  assert.match(r.stderr, /models\/stable-diffusion-2-1-base\s+teacher\.model: teacher weights.*\(8 cells: vsd-eps, .*teacher-one-step-1step\)/);
  assert.match(r.stderr, /models\/swiftbrush\s+teacher\.model: .*\(cell teacher-one-step-1step-one-step-alpha-bar0\.0047\)/);
  assert.match(r.stderr, /models\/fid-inception\.onnx\s+evaluate\.metrics\[0\]\.extractor, evaluate\.metrics\[2\]\.extractor: ONNX feature extractor \(all 9 cells\)/);
  assert.match(lines.at(-1)!, /^hint: /);
  assert.equal(existsSync(store), false, 'no run folder, manifest or lock was written');
});

test('vsdlab run: assets that exist are not listed, and a teacher row is not asked for the distillation prompts', () => {
  const cwd = tempDir();
  mkdirSync(join(cwd, 'models/clip-vit-g-14'), { recursive: true });
  for (const f of ['image.onnx', 'text.onnx', 'tokenizer.json']) writeFileSync(join(cwd, 'models/clip-vit-g-14', f), '');
  const r = vsdlab(['run', FILE, '--store', join(cwd, 'runs'), '--only', 'teacher-ddim-25step'], { cwd });
  assert.equal(r.code, 2, r.stderr);
  const listed = r.stderr.trim().split('\n').slice(1, -1).map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(listed, ASSETS.filter((a) => !a.startsWith('models/clip-vit-g-14') && a !== 'data/journeydb/prompts.txt' && a !== 'models/swiftbrush'));
  assert.deepEqual(readdirSync(cwd).sort(), ['models']);
});
