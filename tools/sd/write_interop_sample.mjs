#!/usr/bin/env node
// Writes what tools/sd/check_diffusers_load.py checks, from the compiled engine (run `npx tsc -p tsconfig.json`
// first): a student pipeline folder built from the tiny SD 2 fixture (its UNet weights moved a little, so a folder
// that kept the teacher's weights fails the check), the same UNet alone as unet/, a LoRA teacher on to_q / to_v as
// a PEFT adapter folder, and expected.safetensors: inputs and the engine's UNet outputs with and without the
// adapter, in torch layout (NCHW).
//
//   node tools/sd/write_interop_sample.mjs /tmp/interop
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const dist = (p) => import(join(root, 'dist', p));
const { selectBackend } = await dist('src/tensor/index.js');
const { initLora, SWIFTBRUSH_LORA_TARGETS } = await dist('src/nn/lora.js');
const { sdUNetForward } = await dist('src/models/sd/unet.js');
const { writeUNetFolder } = await dist('src/models/sd/write-unet-folder.js');
const { writePeftAdapter } = await dist('src/models/sd/write-peft-adapter.js');
const { writePipelineFolder } = await dist('src/models/sd/write-pipeline-folder.js');
const { saveSafetensors } = await dist('src/weights/safetensors.js');
const { unetParamsOf } = await dist('test/helpers/sd-unet-params.js');

const out = resolve(process.argv[2] ?? 'interop-sample');
const teacher = join(root, 'test/fixtures/sd/tiny-sd2');
await selectBackend('cpu');

const { config, params } = unetParamsOf(join(teacher, 'unet'));
Object.values(params).forEach((v, i) => v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.01, 'float32', 100 + i)))));
const adapter = initLora(params, { rank: 4, alpha: 6, targets: SWIFTBRUSH_LORA_TARGETS }, 3);
Object.entries(adapter.params).forEach(([name, v], i) => {
  if (name.endsWith('.lora_b')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 200 + i));
});

writePipelineFolder(join(out, 'model'), teacher, config, params);
writeUNetFolder(join(out, 'unet'), config, params);
writePeftAdapter(join(out, 'teacher_lora'), adapter, { baseModel: join(out, 'model') });

const sample = tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 11);
const context = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 12);
const timesteps = [999, 37];
const weights = { get: (name) => params[name] };
const eps = sdUNetForward({ weights }, config, sample, timesteps, context);
const epsLora = sdUNetForward({ weights, lora: adapter }, config, sample, timesteps, context);
const nchw = (t) => tf.transpose(t, [0, 3, 1, 2]);
await saveSafetensors(join(out, 'expected.safetensors'), {
  sample: nchw(sample),
  timesteps: tf.tensor1d(timesteps, 'int32'),
  encoder_hidden_states: context,
  out: nchw(eps),
  out_lora: nchw(epsLora),
}, { engine: 'vsdlab', backend: 'cpu' });
console.log(`wrote ${join(out, 'model')}, ${join(out, 'unet')}, ${join(out, 'teacher_lora')}, ${join(out, 'expected.safetensors')}`);
