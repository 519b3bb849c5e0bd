// `vsdlab memory`: the budget table of a UNet folder (or the pipeline folder holding one), from its config alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { UNET } from '../models/sd/sd-folder.js';

test('vsdlab memory: SD 2.1-base\'s config, batch 1 and 16, checkpointed: parameters, one row per item, the peak', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'unet'));
  writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify(UNET));
  const r = vsdlab(['memory', dir, '--batch', '1', '16', '--checkpoint', '--attention-slice', '1', '--teacher-fp16']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /865,910,724 parameters, LoRA rank 64 on to_q, to_v: 6,639,616; latents 64×64; checkpointing, attention slices of 1/);
  assert.match(r.stdout, /\| item \| batch 1 \(GiB\) \| batch 16 \(GiB\) \|/);
  // 865,910,724 float32 values are 3.23 GiB; Adam holds two of them
  assert.match(r.stdout, /\| student weights \| 3\.23 \| 3\.23 \|/);
  assert.match(r.stdout, /\| student Adam moments \| 6\.45 \| 6\.45 \|/);
  assert.match(r.stdout, /frozen teacher weights \(float16 asked for: tfjs has no float16 dtype[^|]*\| 3\.23 \|/);
  assert.match(r.stdout, /\| \*\*peak\*\* \| \*\*\d+\.\d\d\*\* \| \*\*\d+\.\d\d\*\* \|/);
});

test('vsdlab memory: a folder without a UNet config is one line naming the file', () => {
  const dir = tempDir();
  const r = vsdlab(['memory', join(dir, 'nope')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nope\/config\.json: no UNet config/);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('vsdlab:')).length, 1);
});
