import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { learningRateAt } from '../../src/recipes/train-teacher.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

// the teacher recipe end to end at toy size: patch fold and v body, checkpoints, the bundle, and --snapshot
const files = {
  'data.yaml': 'kind: synthetic-shapes\noptions: { seed: 3, nTrain: 12, nVal: 2, size: 8, captionsPerImage: 2, supersample: 1 }\n',
  'teacher.yaml': `kind: embedded-teacher
dataset: data.yaml
out: out
backend: cpu
text_encoder: { length: 8, width: 16, layers: 1, heads: 2, mlp: 32 }
unet: { base_channels: 8, channel_mults: [1, 2], res_blocks: 1, attention_levels: [false, true], heads: 2, groups: 4, patch_size: 2, body_predicts: v }
steps: 4
batch_size: 2
learning_rate: 1.0e-3
checkpoint_every: 2
`,
};

test('vsdlab train: a patch-2, v-body teacher trains, checkpoints and writes its folder; --snapshot rewrites the latest checkpoint as the same folder', () => {
  const dir = tempDir(files);
  const early = vsdlab(['train', 'teacher.yaml', '--snapshot', 'snap'], { cwd: dir });
  assert.equal(early.code, 2, early.stderr);
  assert.match(early.stderr, /no checkpoint in out\/\.work to snapshot/);

  const trained = vsdlab(['train', 'teacher.yaml'], { cwd: dir });
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /teacher: step 4\/4 loss \d/);
  for (const f of ['teacher.json', 'unet.safetensors', 'text-encoder.safetensors', 'samples-ddim50.png', 'samples-one-step.png', 'manifest.json']) {
    assert.ok(existsSync(join(dir, 'out', f)), f);
  }
  assert.ok(existsSync(join(dir, 'out', '.work', 'checkpoint-4.safetensors')));
  const meta = JSON.parse(readFileSync(join(dir, 'out', 'teacher.json'), 'utf8')) as { unet: { patchSize?: number; bodyPredicts?: string }; training: { steps: number } };
  assert.equal(meta.unet.patchSize, 2);
  assert.equal(meta.unet.bodyPredicts, 'v');
  assert.equal(meta.training.steps, 4);

  const snap = vsdlab(['train', 'teacher.yaml', '--snapshot', 'snap'], { cwd: dir });
  assert.equal(snap.code, 0, snap.stderr);
  assert.match(snap.stdout, /wrote snap/);
  // the bundle is the EMA of the last checkpoint: the snapshot of a finished training is the same weights
  assert.deepEqual(readFileSync(join(dir, 'snap', 'unet.safetensors')), readFileSync(join(dir, 'out', 'unet.safetensors')));
  assert.deepEqual(readFileSync(join(dir, 'snap', 'text-encoder.safetensors')), readFileSync(join(dir, 'out', 'text-encoder.safetensors')));
});

test('learningRateAt: constant, or a cosine from the recipe rate at step 1 through half at the midpoint towards 0', () => {
  assert.equal(learningRateAt({ learning_rate: 0.01, learning_rate_schedule: 'constant', steps: 10 }, 7), 0.01);
  const r = { learning_rate: 0.01, learning_rate_schedule: 'cosine' as const, steps: 100 };
  assert.equal(learningRateAt(r, 1), 0.01);
  assert.ok(Math.abs(learningRateAt(r, 51) - 0.005) < 1e-12);
  assert.ok(learningRateAt(r, 100) > 0 && learningRateAt(r, 100) < 0.01 * 1e-3);
});

test('vsdlab train: init_from starts a fine-tuning stage from a finished teacher; another architecture is refused in one line', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir(files);
  assert.equal(vsdlab(['train', 'teacher.yaml'], { cwd: dir }).code, 0);
  // a rate so small that Adam's steps (≈ lr each) cannot move a float32 weight: the stage's output is its start
  const stage = (out: string, extra: string) => files['teacher.yaml'].replace('out: out', `out: ${out}`).replace('learning_rate: 1.0e-3', 'learning_rate: 1.0e-12') + extra;
  writeFileSync(join(dir, 'fine.yaml'), stage('fine', 'init_from: out\nlearning_rate_schedule: cosine\nseed: 5\n'));
  writeFileSync(join(dir, 'fresh.yaml'), stage('fresh', 'seed: 5\n'));
  for (const f of ['fine.yaml', 'fresh.yaml']) assert.equal(vsdlab(['train', f], { cwd: dir }).code, 0, f);
  const weights = (d: string) => loadSafetensors(join(dir, d, 'unet.safetensors')).tensors;
  const base = weights('out');
  const maxDiff = (other: Record<string, tf.Tensor>) =>
    Math.max(...Object.entries(base).map(([k, v]) => tf.tidy(() => tf.max(tf.abs(tf.sub(v, other[k] as tf.Tensor))).dataSync()[0] as number)));
  assert.ok(maxDiff(weights('fine')) < 1e-6, 'the fine-tuned teacher starts from the base');
  assert.ok(maxDiff(weights('fresh')) > 1e-3, 'a fresh teacher does not');
  const meta = JSON.parse(readFileSync(join(dir, 'fine', 'teacher.json'), 'utf8')) as { training: { init_from?: string; learning_rate_schedule?: string } };
  assert.equal(meta.training.init_from, 'out');
  assert.equal(meta.training.learning_rate_schedule, 'cosine');

  writeFileSync(join(dir, 'wide.yaml'), stage('wide', 'init_from: out\n').replace('base_channels: 8', 'base_channels: 12'));
  const wide = vsdlab(['train', 'wide.yaml'], { cwd: dir });
  assert.equal(wide.code, 2);
  assert.match(wide.stderr, /wide\.yaml: init_from out: its UNet is .* the recipe's/);
  assert.equal(wide.stderr.trim().split('\n').filter((l) => /init_from/.test(l)).length, 1);
});
