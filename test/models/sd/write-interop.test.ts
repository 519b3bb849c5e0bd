// Interop out: the writers of a diffusers unet/ folder, a PEFT LoRA adapter folder and a complete pipeline folder,
// each read back by the engine's own loaders and checked to compute exactly what was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/tensor/index.js';
import type { ParamMap } from '../../../src/nn/params.js';
import { initLora, SWIFTBRUSH_LORA_TARGETS, type LoraAdapter } from '../../../src/nn/lora.js';
import { sdUNetForward } from '../../../src/models/sd/unet.js';
import type { UNetConfig } from '../../../src/models/sd/unet-config.js';
import { readPipelineFolder } from '../../../src/models/sd/pipeline-folder.js';
import { componentWeights } from '../../../src/models/sd/component-weights.js';
import { unetConfigJson, writeUNetFolder } from '../../../src/models/sd/write-unet-folder.js';
import { adapterConfigJson, peftKeyOf, writePeftAdapter } from '../../../src/models/sd/write-peft-adapter.js';
import { readPeftAdapter } from '../../../src/models/sd/peft-adapter-folder.js';
import { writePipelineFolder } from '../../../src/models/sd/write-pipeline-folder.js';
import { openSafetensors } from '../../../src/weights/safetensors-file.js';
import { loadSafetensors } from '../../../src/weights/safetensors.js';
import { BadInputError } from '../../../src/errors.js';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';
import { unetParamsOf } from '../../helpers/sd-unet-params.js';

const TEACHER = fromRoot('test/fixtures/sd/tiny-sd2');

/** one UNet forward on fixed inputs (seeded), with the given weights and adapter */
function forward(config: UNetConfig, weights: { get: (name: string, shape: number[]) => tf.Tensor }, lora?: LoraAdapter): Float32Array {
  return tf.tidy(() => {
    const sample = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 11) as tf.Tensor4D;
    const context = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 12) as tf.Tensor3D;
    return sdUNetForward({ weights: { get: (n, s) => weights.get(n, s) }, lora }, config, sample, [999, 37], context).dataSync() as Float32Array;
  });
}
const paramWeights = (params: ParamMap) => ({ get: (name: string) => params[name]! });

/** the fixture UNet with every weight moved a little, so a written file that kept the teacher's weights is caught */
function student(): { config: UNetConfig; params: ParamMap } {
  const { config, params } = unetParamsOf(join(TEACHER, 'unet'));
  Object.values(params).forEach((v, i) => v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.01, 'float32', 100 + i)))));
  return { config, params };
}

test('unet config.json is byte-identical to what diffusers 0.27.2 save_pretrained wrote for the fixture', async () => {
  await selectBackend('cpu');
  const { config } = unetParamsOf(join(TEACHER, 'unet'));
  assert.equal(unetConfigJson(config), readFileSync(join(TEACHER, 'unet/config.json'), 'utf8'));
});

test('unet/ folder: torch names and layout, the exact tensors, and identical UNet outputs when read back', async () => {
  await selectBackend('cpu');
  const { config, params } = student();
  const dir = join(tempDir(), 'unet');
  writeUNetFolder(dir, config, params);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'diffusion_pytorch_model.safetensors']);
  // the written names and shapes are exactly the teacher's state dict (what diffusers' model has)
  const written = openSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'));
  const teacher = openSafetensors(join(TEACHER, 'unet/diffusion_pytorch_model.safetensors'));
  assert.deepEqual(written.names().sort(), teacher.names().sort());
  for (const name of teacher.names()) assert.deepEqual(written.info(name)?.shape, teacher.info(name)?.shape, name);
  assert.deepEqual(written.metadata, { format: 'pt' });
  const convIn = written.read('conv_in.weight'); // torch [out, in, kh, kw]; the engine's conv_in.w is [kh, kw, in, out]
  const engine = params['conv_in.w']!.arraySync() as number[][][][];
  assert.equal(convIn.values[((5 * 4 + 2) * 3 + 1) * 3 + 0], Math.fround(engine[1]![0]![2]![5]!));
  written.close();
  teacher.close();
  // read back through the pipeline loader's component path: same outputs, bit for bit
  const component = { name: 'unet' as const, dir, configPath: join(dir, 'config.json'), config, variant: undefined, weights: { path: join(dir, 'diffusion_pytorch_model.safetensors'), sharded: false, files: [] } };
  const { weights, view } = componentWeights(component);
  assert.deepEqual(forward(config, weights), forward(config, paramWeights(params)));
  weights.dispose();
  view.close();
});

test('PEFT adapter folder: PeftModel keys [r, in] / [out, r], LoraConfig fields, and the same adapted outputs when read back', async () => {
  await selectBackend('cpu');
  const { config, params } = unetParamsOf(join(TEACHER, 'unet'));
  const adapter = initLora(params, { rank: 4, alpha: 6, targets: SWIFTBRUSH_LORA_TARGETS }, 3);
  // B starts at zero (a fresh adapter changes nothing): give it values so the check means something
  Object.entries(adapter.params).forEach(([name, v], i) => {
    if (name.endsWith('.lora_b')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 200 + i));
  });
  const dir = join(tempDir(), 'teacher_lora');
  writePeftAdapter(dir, adapter, { baseModel: TEACHER });
  const { tensors, metadata } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
  assert.deepEqual(metadata, { format: 'pt' });
  const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
  assert.equal(peftKeyOf(`${q}.w.lora_a`), `base_model.model.${q}.lora_A.weight`);
  assert.deepEqual(tensors[`base_model.model.${q}.lora_A.weight`]?.shape, [4, 8]);
  assert.deepEqual(tensors[`base_model.model.${q}.lora_B.weight`]?.shape, [8, 4]);
  // every to_q and to_v of the UNet (2 attention layers per transformer block), nothing else
  const modules = new Set(Object.keys(tensors).map((k) => k.replace(/\.lora_[AB]\.weight$/, '')));
  const targets = Object.keys(params).filter((n) => /\.(to_q|to_v)\.w$/.test(n)).map((n) => `base_model.model.${n.slice(0, -2)}`);
  assert.deepEqual([...modules].sort(), targets.sort());
  tf.dispose(Object.values(tensors));
  const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg['peft_type'], 'LORA');
  assert.equal(cfg['r'], 4);
  assert.equal(cfg['lora_alpha'], 6);
  assert.deepEqual(cfg['target_modules'], ['to_q', 'to_v']);
  assert.equal(cfg['use_rslora'], false);
  assert.equal(cfg['base_model_name_or_path'], TEACHER);
  assert.match(adapterConfigJson(adapter), /"lora_dropout": 0\.0,/);

  const back = readPeftAdapter(dir);
  assert.deepEqual(back.config, adapter.config);
  assert.deepEqual(Object.keys(back.params).sort(), Object.keys(adapter.params).sort());
  for (const [name, v] of Object.entries(adapter.params)) assert.deepEqual(back.params[name]!.dataSync(), v.dataSync(), name);
  const adapted = forward(config, paramWeights(params), adapter);
  assert.deepEqual(forward(config, paramWeights(params), back), adapted);
  assert.notDeepEqual(adapted, forward(config, paramWeights(params)), 'the adapter changes the output');
});

test('PEFT adapter with conv targets: lora_A [r, in, k, k] and lora_B [out, r, 1, 1] as PEFT\'s conv LoRA, same outputs read back', async () => {
  await selectBackend('cpu');
  const { config, params } = unetParamsOf(join(TEACHER, 'unet'));
  const adapter = initLora(params, { rank: 2, alpha: 3, targets: ['conv1', 'to_k'] }, 5);
  Object.entries(adapter.params).forEach(([name, v], i) => {
    if (name.endsWith('.lora_b')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 300 + i));
  });
  const dir = join(tempDir(), 'lora');
  writePeftAdapter(dir, adapter);
  const { tensors } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
  // down_blocks.0.resnets.0.conv1: a 3×3 conv of 8 → 8 channels
  assert.deepEqual(tensors['base_model.model.down_blocks.0.resnets.0.conv1.lora_A.weight']?.shape, [2, 8, 3, 3]);
  assert.deepEqual(tensors['base_model.model.down_blocks.0.resnets.0.conv1.lora_B.weight']?.shape, [8, 2, 1, 1]);
  tf.dispose(Object.values(tensors));
  const back = readPeftAdapter(dir);
  assert.deepEqual(back.config.targets, ['conv1', 'to_k']);
  assert.deepEqual(forward(config, paramWeights(params), back), forward(config, paramWeights(params), adapter));
});

test('a PEFT adapter the engine cannot compute (rsLoRA) is refused in one line naming the file and key', async () => {
  await selectBackend('cpu');
  const { params } = unetParamsOf(join(TEACHER, 'unet'));
  const dir = join(tempDir(), 'lora');
  writePeftAdapter(dir, initLora(params, { rank: 2, alpha: 2, targets: ['to_q'] }, 1));
  const path = join(dir, 'adapter_config.json');
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), use_rslora: true }));
  assert.throws(() => readPeftAdapter(dir), (e: unknown) => e instanceof BadInputError && e.message.includes(path) && e.message.includes('use_rslora'));
});

test('model/ pipeline folder: loads as a pipeline, has the student UNet, the teacher\'s other components (linked or copied)', async () => {
  await selectBackend('cpu');
  const { config, params } = student();
  const dir = join(tempDir(), 'cell', 'model');
  const result = writePipelineFolder(dir, TEACHER, config, params);
  assert.equal(result.linked + result.copied, 10, 'scheduler 1, text_encoder 2, tokenizer 4, vae 3 files, and none of the teacher unet');
  const folder = readPipelineFolder(dir);
  assert.equal(folder.className, 'StableDiffusionPipeline');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8')), JSON.parse(readFileSync(join(TEACHER, 'model_index.json'), 'utf8')));
  for (const file of ['vae/diffusion_pytorch_model.safetensors', 'text_encoder/model.safetensors', 'tokenizer/vocab.json', 'scheduler/scheduler_config.json']) {
    assert.ok(readFileSync(join(dir, file)).equals(readFileSync(join(TEACHER, file))), file);
    if (result.copied === 0) assert.equal(statSync(join(dir, file)).ino, statSync(join(TEACHER, file)).ino, `${file} is a hard link`);
  }
  const { weights, view } = componentWeights(folder.unet);
  assert.deepEqual(forward(config, weights), forward(config, paramWeights(params)));
  weights.dispose();
  view.close();
  assert.deepEqual(readdirSync(join(dir, '..')), ['model'], 'no temporary folder is left beside it');
  // writing again replaces the folder whole
  writePipelineFolder(dir, TEACHER, config, params);
  assert.ok(existsSync(join(dir, 'unet/config.json')));
  // a ParamMap that is not the teacher's architecture is refused before anything is written
  const { 'conv_out.b': dropped, ...partial } = params;
  assert.ok(dropped);
  const other = join(tempDir(), 'model');
  assert.throws(() => writePipelineFolder(other, TEACHER, config, partial), /missing conv_out\.bias; extra none/);
  assert.equal(existsSync(other), false);
});
