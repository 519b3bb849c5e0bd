import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openComponentWeights, pipelineIdentityFiles, readPipelineFolder } from '../../../src/models/sd/pipeline-folder.js';
import { BadInputError, MissingAssetError, type VsdlabError } from '../../../src/errors.js';
import { f32, writeRaw } from '../../helpers/safetensors-files.js';
import { put, remove, sdFolder } from './sd-folder.js';

/** the error's class, code and exact one-line message */
const fails =
  (kind: typeof BadInputError | typeof MissingAssetError, code: string, message: string | RegExp, hint?: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof kind, `${String(e)} is a ${kind.name}`);
    const err = e as VsdlabError;
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), 'one line');
    if (hint !== undefined) assert.match(err.hint ?? '', hint);
    return true;
  };

test('an SD 2.1-base folder reads whole: configs with their defaults, weights, tokenizer, scheduler, no warnings', () => {
  const dir = sdFolder();
  const p = readPipelineFolder(dir);
  assert.equal(p.className, 'StableDiffusionPipeline');
  assert.equal(p.diffusersVersion, '0.10.0.dev0');
  assert.deepEqual(p.warnings, []);
  assert.deepEqual(p.unet.config.attention_head_dim, [5, 10, 20, 20]);
  assert.equal(p.unet.config.cross_attention_dim, 1024);
  assert.equal(p.unet.config.use_linear_projection, true);
  assert.equal(p.unet.config.upcast_attention, false, 'absent: the diffusers default');
  assert.equal(p.unet.config.mid_block_type, 'UNetMidBlock2DCrossAttn');
  assert.equal(p.vae.config.scaling_factor, 0.18215, 'absent: the diffusers default');
  assert.equal(p.vae.config.force_upcast, true);
  assert.equal(p.textEncoder.config.hidden_act, 'gelu');
  assert.equal(p.textEncoder.config.num_hidden_layers, 23);
  assert.equal(p.unet.weights.path, join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
  assert.equal(p.textEncoder.weights.path, join(dir, 'text_encoder', 'model.safetensors'));
  assert.equal(p.tokenizer.className, 'CLIPTokenizer');
  assert.equal(p.scheduler.className, 'PNDMScheduler');
  assert.equal(p.scheduler.config.beta_schedule, 'scaled_linear');
  assert.deepEqual(pipelineIdentityFiles(p).map((f) => f.relative), [
    'model_index.json',
    'scheduler/scheduler_config.json',
    'text_encoder/config.json',
    'text_encoder/model.safetensors',
    'tokenizer/merges.txt',
    'tokenizer/special_tokens_map.json',
    'tokenizer/tokenizer_config.json',
    'tokenizer/vocab.json',
    'unet/config.json',
    'unet/diffusion_pytorch_model.safetensors',
    'vae/config.json',
    'vae/diffusion_pytorch_model.safetensors',
  ]);
  assert.ok(pipelineIdentityFiles(p).every((f) => f.path === join(dir, f.relative)));
  const text = openComponentWeights(p.textEncoder);
  try {
    assert.deepEqual(Array.from(text.read('text_model.embeddings.position_ids').values), [0, 1, 2, 3]);
  } finally {
    text.close();
  }
});

test('defaults fill a minimal config as diffusers and transformers fill it', () => {
  const p = readPipelineFolder(sdFolder({ unet: { attention_head_dim: undefined, layers_per_block: undefined, cross_attention_dim: undefined, use_linear_projection: undefined }, textEncoder: { hidden_act: undefined, hidden_size: undefined } }));
  assert.equal(p.unet.config.attention_head_dim, 8);
  assert.equal(p.unet.config.layers_per_block, 2);
  assert.equal(p.unet.config.cross_attention_dim, 1280);
  assert.equal(p.unet.config.use_linear_projection, false);
  assert.equal(p.textEncoder.config.hidden_act, 'quick_gelu');
  assert.equal(p.textEncoder.config.hidden_size, 512);
});

test('unknown keys are ignored with a warning; `_` keys are metadata', () => {
  const p = readPipelineFolder(sdFolder({ unet: { _use_default_values: ['x'], lyers_per_block: 3 }, vae: { force_upcast: false, latents_mean: [0, 0, 0, 0], latents_std: [1, 1, 1, 1] }, modelIndex: { image_encoder: ['transformers', 'CLIPVisionModelWithProjection'], controlnet: ['diffusers', 'ControlNetModel'] } }));
  assert.deepEqual(p.warnings, [`${p.modelIndexPath}  controlnet  component not used, ignored`, `${p.unet.configPath}  lyers_per_block  unknown key, ignored`]);
  assert.deepEqual(p.vae.config.latents_mean, [0, 0, 0, 0]);
});

test('a missing folder, component entry, component folder or config: each named', () => {
  assert.throws(() => readPipelineFolder('/nonexistent/sd'), fails(MissingAssetError, 'SD_PIPELINE_MISSING', '/nonexistent/sd: no such pipeline folder'));
  let dir = sdFolder({ modelIndex: { vae: undefined } });
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_PIPELINE_INVALID', `${join(dir, 'model_index.json')}  vae  missing: a Stable Diffusion pipeline needs unet, vae, text_encoder, tokenizer, scheduler`));
  dir = sdFolder();
  remove(dir, 'vae');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_COMPONENT_MISSING', `${join(dir, 'vae')}: the vae folder model_index.json names is missing`));
  dir = sdFolder();
  remove(dir, 'unet/config.json');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_CONFIG_MISSING', `${join(dir, 'unet', 'config.json')}: no unet config`));
  dir = sdFolder();
  remove(dir, 'tokenizer/merges.txt');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_CONFIG_MISSING', `${join(dir, 'tokenizer', 'merges.txt')}: no tokenizer merges.txt`));
  dir = sdFolder();
  remove(dir, 'scheduler/scheduler_config.json');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_CONFIG_MISSING', `${join(dir, 'scheduler', 'scheduler_config.json')}: no scheduler config`));
  dir = sdFolder();
  remove(dir, 'model_index.json');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_CONFIG_MISSING', `${join(dir, 'model_index.json')}: no model_index.json`));
  put(dir, 'v2-1_512-ema-pruned.ckpt');
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_PIPELINE_SINGLE_FILE', /v2-1_512-ema-pruned\.ckpt: a single-file checkpoint/, /from_single_file/));
  dir = sdFolder();
  put(dir, 'vae/config.json', '{"act_fn": ');
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_CONFIG_INVALID', /vae\/config\.json: the vae config is not JSON/));
});

test('a component class the engine does not implement is refused in model_index.json', () => {
  const dir = sdFolder({ modelIndex: { unet: ['diffusers', 'UNet2DModel'] } });
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_CONFIG_UNSUPPORTED', `${join(dir, 'model_index.json')}  unet  ["diffusers","UNet2DModel"] is not supported (supported: ["diffusers","UNet2DConditionModel"])`));
  const fast = readPipelineFolder(sdFolder({ modelIndex: { tokenizer: ['transformers', 'CLIPTokenizerFast'] } }));
  assert.equal(fast.tokenizer.className, 'CLIPTokenizerFast');
});

test('pickled-only weights are refused with the conversion to run; no weights at all is missing', () => {
  let dir = sdFolder();
  remove(dir, 'unet/diffusion_pytorch_model.safetensors');
  put(dir, 'unet/diffusion_pytorch_model.bin', 'pickle');
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_WEIGHTS_PICKLED', `${join(dir, 'unet', 'diffusion_pytorch_model.bin')}: unet has pickled weights only, no diffusion_pytorch_model.safetensors`, /safe_serialization=True/));
  dir = sdFolder();
  remove(dir, 'text_encoder/model.safetensors');
  put(dir, 'text_encoder/pytorch_model.bin', 'pickle');
  assert.throws(() => readPipelineFolder(dir), fails(BadInputError, 'SD_WEIGHTS_PICKLED', /text_encoder\/pytorch_model\.bin: text_encoder has pickled weights only, no model\.safetensors/));
  dir = sdFolder();
  remove(dir, 'vae/diffusion_pytorch_model.safetensors');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_WEIGHTS_MISSING', `${join(dir, 'vae', 'diffusion_pytorch_model.safetensors')}: vae has no safetensors weights by that name`));
});

test('a variant is read where a component has it (diffusers picks per component), plain weights elsewhere', () => {
  const dir = sdFolder();
  writeRaw(join(dir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'), { 'conv_in.bias': f32([2], [5, 6]) });
  writeRaw(join(dir, 'text_encoder', 'model.fp16.safetensors'), { 'text_model.final_layer_norm.bias': f32([1], [0]) });
  const plain = readPipelineFolder(dir);
  assert.equal(plain.unet.weights.path, join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
  const fp16 = readPipelineFolder(dir, { variant: 'fp16' });
  assert.equal(fp16.unet.variant, 'fp16');
  assert.equal(fp16.unet.weights.path, join(dir, 'unet', 'diffusion_pytorch_model.fp16.safetensors'));
  assert.equal(fp16.textEncoder.weights.path, join(dir, 'text_encoder', 'model.fp16.safetensors'));
  assert.equal(fp16.vae.variant, undefined);
  assert.equal(fp16.vae.weights.path, join(dir, 'vae', 'diffusion_pytorch_model.safetensors'));
  const ids = pipelineIdentityFiles(fp16).map((f) => f.relative);
  assert.ok(ids.includes('unet/diffusion_pytorch_model.fp16.safetensors') && !ids.includes('unet/diffusion_pytorch_model.safetensors'), 'only the weights used');
  // only the variant there, and none asked for: the message says which variant to ask for
  remove(dir, 'unet/diffusion_pytorch_model.safetensors');
  assert.throws(() => readPipelineFolder(dir), fails(MissingAssetError, 'SD_WEIGHTS_MISSING', /unet has no safetensors weights by that name \(found diffusion_pytorch_model\.fp16\.safetensors\)/, /ask for its variant \("fp16"\)/));
});

test('a sharded UNet (plain, variant and diffusers 0.29 legacy variant index names) is found whole and read as one', () => {
  for (const [variant, index, shardPrefix] of [
    [undefined, 'diffusion_pytorch_model.safetensors.index.json', 'diffusion_pytorch_model'],
    ['fp16', 'diffusion_pytorch_model.safetensors.index.fp16.json', 'diffusion_pytorch_model.fp16'],
    ['fp16', 'diffusion_pytorch_model.safetensors.fp16.index.json', 'diffusion_pytorch_model.fp16'],
  ] as const) {
    const dir = sdFolder();
    remove(dir, 'unet/diffusion_pytorch_model.safetensors');
    const s1 = `${shardPrefix}-00001-of-00002.safetensors`;
    const s2 = `${shardPrefix}-00002-of-00002.safetensors`;
    writeRaw(join(dir, 'unet', s1), { 'conv_in.bias': f32([2], [1, 2]) });
    writeRaw(join(dir, 'unet', s2), { 'conv_in.weight': f32([2, 1, 1, 1], [3, 4]) });
    writeFileSync(join(dir, 'unet', index), JSON.stringify({ metadata: { total_size: 16 }, weight_map: { 'conv_in.bias': s1, 'conv_in.weight': s2 } }));
    const p = readPipelineFolder(dir, variant === undefined ? {} : { variant });
    assert.equal(p.unet.weights.sharded, true, index);
    assert.deepEqual(p.unet.weights.files, [join(dir, 'unet', index), join(dir, 'unet', s1), join(dir, 'unet', s2)]);
    assert.deepEqual(pipelineIdentityFiles(p).filter((f) => f.relative.startsWith('unet/')).map((f) => f.relative), [`unet/${index}`, `unet/${s1}`, `unet/${s2}`, 'unet/config.json'].sort());
    const view = openComponentWeights(p.unet);
    try {
      assert.deepEqual(Array.from(view.read('conv_in.weight').values), [3, 4]);
    } finally {
      view.close();
    }
    remove(dir, `unet/${s2}`);
    assert.throws(() => readPipelineFolder(dir, variant === undefined ? {} : { variant }), fails(MissingAssetError, 'WEIGHTS_SHARD_MISSING', `${join(dir, 'unet', index)}: shard ${s2} (weight_map) does not exist`));
  }
});
