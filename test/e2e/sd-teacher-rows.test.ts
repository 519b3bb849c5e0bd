// A diffusers SD folder as teacher.model: the teacher rows run through generate → evaluate → report like the
// embedded teacher's (test/fixtures/sd/teacher-rows.yaml on the tiny random-weight SD 2 folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { tinyOnnxFolder } from '../models/sd/onnx-folder.js';
import { ensureSyntheticShapes } from '../helpers/synthetic-shapes.js';

const EXPERIMENT = 'test/fixtures/sd/teacher-rows.yaml';

test('a diffusers folder as teacher.model: 25-step DDIM and one-step rows generate 16×16 images, are measured and reported', async () => {
  ensureSyntheticShapes();
  const dir = tempDir();
  const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
  const run = vsdlab(['run', EXPERIMENT, '--store', join(dir, 'runs')], { env });
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const root = join(dir, 'runs', 'sd-teacher-rows');
  const cells = readdirSync(root).filter((n) => existsSync(join(root, n, 'metrics.json'))).sort();
  assert.deepEqual(cells.map((c) => c.replace(/-[0-9a-f]{8}$/, '')), ['ddim-25step', 'one-step-1step']);
  for (const cell of cells) {
    const metrics = JSON.parse(readFileSync(join(root, cell, 'metrics.json'), 'utf8')).metrics as Array<{ name: string; value: number }>;
    assert.deepEqual(metrics.map((m) => m.name), ['fid', 'clip-score']);
    assert.ok(metrics.every((m) => Number.isFinite(m.value)));
    const images = join(root, cell, 'artifacts', 'generate', 'images');
    const files = readdirSync(images);
    assert.equal(files.length, 16);
    const meta = await sharp(join(images, files[0]!)).metadata();
    assert.deepEqual([meta.width, meta.height], [16, 16], 'sample_size 8 latents through the VAE (factor 2)');
  }
  const report = vsdlab(['report', EXPERIMENT, '--store', join(dir, 'runs'), '--out', join(dir, 'report')], { env });
  assert.equal(report.code, 0, report.stderr);
  assert.match(readFileSync(join(dir, 'report', 'table.md'), 'utf8'), /DDIM, 25 steps[\s\S]*one-step, 1 step/);
});

test('generate.engine: the same teacher rows through ONNX Runtime (Optimum export) give the tfjs engine\'s images to within one 8-bit level', async () => {
  ensureSyntheticShapes();
  const dir = tempDir();
  const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
  const onnx = tinyOnnxFolder();
  const images = async (store: string, set: string[]): Promise<Buffer[]> => {
    // the ONNX export is written to a temp folder, outside the workspace
    const run = vsdlab(['run', EXPERIMENT, '--store', store, '--only', 'ddim-25step', '--allow-outside-workspace', ...set.flatMap((s) => ['--set', s])], { env });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const cell = readdirSync(join(store, 'sd-teacher-rows')).find((n) => n.startsWith('ddim-25step'))!;
    const folder = join(store, 'sd-teacher-rows', cell, 'artifacts', 'generate', 'images');
    return Promise.all(readdirSync(folder).sort().map(async (f) => (await sharp(join(folder, f)).raw().toBuffer())));
  };
  const viaTfjs = await images(join(dir, 'tfjs'), []);
  const viaOnnx = await images(join(dir, 'onnx'), [`teacher.model=${onnx}`, 'generate.engine=onnx', 'generate.device=cpu']);
  assert.equal(viaOnnx.length, viaTfjs.length);
  let worst = 0;
  viaOnnx.forEach((img, i) => img.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - viaTfjs[i]![j]!)))));
  assert.ok(worst <= 1, `largest pixel difference ${worst}`);
});

test('distill.teacher_engine: onnx with a diffusers teacher is refused by name (its teacher passes run on tfjs)', () => {
  ensureSyntheticShapes();
  const dir = tempDir();
  const run = vsdlab(['run', 'test/fixtures/sd/distill-ablation.yaml', '--store', join(dir, 'runs'), '--only', 'vsd-eps', '--set', 'distill.teacher_engine=onnx'], { env: { VSDLAB_FEATURE_CACHE: join(dir, 'features') } });
  assert.notEqual(run.code, 0);
  assert.match(`${run.stdout}${run.stderr}`, /distill\.teacher_engine: onnx runs an embedded teacher's UNet; \S+ is a diffusers SD folder/);
});
