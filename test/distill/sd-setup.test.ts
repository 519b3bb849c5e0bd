import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { VsdlabError } from '../../src/errors.js';
import { sdTextEncode } from '../../src/models/sd/text-encoder.js';
import { sdUNetForward } from '../../src/models/sd/unet.js';
import { loadSdUNetParams, sdUNetOn } from '../../src/models/sd/unet-params.js';
import { readPipelineFolder } from '../../src/models/sd/pipeline-folder.js';
import { loadSdDistillSetup } from '../../src/pipelines/sd/distill-setup.js';
import { loadSdPipeline } from '../../src/pipelines/sd/load-pipeline.js';
import { loadSafetensors, saveSafetensors } from '../../src/weights/safetensors.js';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { tempDir } from '../helpers/temp.js';
import { FIXTURE } from './sd-golden.js';

await tf.setBackend('cpu');

const UNET_FILE = join(FIXTURE, 'unet', 'diffusion_pytorch_model.safetensors');

test('a diffusers UNet as a ParamMap: every tensor of the file once, under the layers\' names, channels-last; the forward on it is the pipeline\'s', () => {
  const params = loadSdUNetParams(readPipelineFolder(FIXTURE).unet, true);
  assert.equal(Object.keys(params).length, openSafetensors(UNET_FILE).names().length);
  assert.ok(Object.values(params).every((p) => p.trainable));
  const torch = loadSafetensors(UNET_FILE).tensors;
  // conv [out, in, kh, kw] → [kh, kw, in, out]; linear [out, in] → [in, out]
  assert.deepEqual(Array.from(params['conv_in.w']!.dataSync()), Array.from(tf.transpose(torch['conv_in.weight']!, [2, 3, 1, 0]).dataSync()));
  const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
  assert.deepEqual(Array.from(params[`${q}.w`]!.dataSync()), Array.from(tf.transpose(torch[`${q}.weight`]!).dataSync()));
  const p = loadSdPipeline(FIXTURE);
  const x = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
  const cond = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 2) as tf.Tensor3D;
  const ours = sdUNetOn(p.unet.config, params, x, [10, 900], cond);
  const pipeline = sdUNetForward(p.unet.layer, p.unet.config, x, [10, 900], cond);
  assert.deepEqual(Array.from(ours.dataSync()), Array.from(pipeline.dataSync()));
  p.dispose();
});

test('a UNet file with a tensor no layer reads is refused, naming the file and the tensor', async () => {
  const dir = join(tempDir(), 'sd');
  cpSync(FIXTURE, dir, { recursive: true });
  const { tensors } = loadSafetensors(UNET_FILE);
  await saveSafetensors(join(dir, 'unet', 'diffusion_pytorch_model.safetensors'), { ...tensors, 'mid_block.extra.weight': tf.zeros([2]) });
  assert.throws(
    () => loadSdUNetParams(readPipelineFolder(dir).unet, false),
    (e: unknown) => e instanceof VsdlabError && e.code === 'SD_UNET_UNREAD' && /diffusion_pytorch_model\.safetensors: 1 tensors no layer reads \(first mid_block\.extra\.weight\)/.test(e.message),
  );
});

test('prompt embeddings: computed once per text encoder and prompt set, then read from the cache; equal to encoding directly', async () => {
  const cacheDir = tempDir();
  const prompts = ['a red circle', 'two blue squares', 'a red circle', 'a star'];
  const first = await loadSdDistillSetup(FIXTURE, prompts, { cacheDir });
  assert.equal(first.embeddings.computed, true);
  const p = loadSdPipeline(FIXTURE);
  const direct = (cs: string[]): tf.Tensor3D => sdTextEncode(p.textEncoder.layer, p.textEncoder.config, tf.tensor2d(p.tokenizer.encodeBatch(cs), [cs.length, p.tokenizer.maxLength], 'int32'));
  const asked = ['a star', 'a red circle'];
  assert.deepEqual(Array.from(first.encodeText(asked).dataSync()), Array.from(direct(asked).dataSync()));
  assert.deepEqual(Array.from(first.nullText.dataSync()), Array.from(direct(['']).dataSync()));
  assert.throws(() => first.encodeText(['not a prompt']), /not in the distillation prompts/);
  first.dispose();
  const again = await loadSdDistillSetup(FIXTURE, prompts, { cacheDir });
  assert.equal(again.embeddings.computed, false);
  assert.equal(again.embeddings.file, first.embeddings.file);
  assert.deepEqual(Array.from(again.encodeText(asked).dataSync()), Array.from(direct(asked).dataSync()));
  again.dispose();
  const other = await loadSdDistillSetup(FIXTURE, [...prompts, 'one more'], { cacheDir });
  assert.equal(other.embeddings.computed, true, 'another prompt set is another cache entry');
  other.dispose();
  assert.equal(readdirSync(cacheDir).length, 2);
  p.dispose();
});
