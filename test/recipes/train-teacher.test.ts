import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
