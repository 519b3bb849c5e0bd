// The pipeline folders that diffusers v0.27.2 itself wrote (test/fixtures/sd, made by tools/sd/make_sd_goldens.py):
// the reader must open them as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { openComponentWeights, readPipelineFolder } from '../../../src/models/sd/pipeline-folder.js';
import { findComponentWeights } from '../../../src/models/sd/weight-files.js';
import { parseSchedulerConfig } from '../../../src/diffusion/scheduler-config.js';
import { openWeights } from '../../../src/weights/open-weights.js';
import { fromRoot } from '../../helpers/paths.js';

const root = fromRoot('test/fixtures/sd');

test('diffusers-written folders open: every config passes, every tensor of every component reads', () => {
  assert.ok(existsSync(root), `${root} is missing`);
  for (const variant of [undefined, 'fp16']) {
    const p = readPipelineFolder(`${root}/tiny-sd2`, variant === undefined ? {} : { variant });
    assert.deepEqual(p.warnings, []);
    parseSchedulerConfig(p.scheduler.config, p.scheduler.configPath);
    assert.equal(p.vae.variant, variant, 'the VAE has an fp16 variant; the others load plain weights');
    assert.equal(p.unet.variant, undefined);
    for (const c of [p.unet, p.vae, p.textEncoder]) {
      const view = openComponentWeights(c);
      try {
        for (const name of view.names()) assert.equal(view.read(name).shape.length, view.info(name)!.shape.length);
      } finally {
        view.close();
      }
    }
  }
  const sharded = findComponentWeights(`${root}/vae-sharded`, 'vae', 'diffusion_pytorch_model');
  assert.equal(sharded.files.length, 3);
  const plain = openWeights(`${root}/tiny-sd2/vae/diffusion_pytorch_model.safetensors`);
  const shards = openWeights(sharded.path);
  try {
    assert.deepEqual(shards.names(), plain.names());
  } finally {
    plain.close();
    shards.close();
  }
});
