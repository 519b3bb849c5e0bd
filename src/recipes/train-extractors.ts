import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { readSyntheticRecipe } from '../data/synthetic-recipe.js';
import { generateSyntheticSet } from '../data/synthetic-set.js';
import { selectBackend } from '../tensor/backend.js';
import { writeFileAtomically, writeJsonAtomically } from '../util/atomic-write.js';
import { loadSafetensors, saveSafetensors } from '../weights/safetensors.js';
import type { ParamMap } from '../nn/params.js';
import { ATTRIBUTE_GROUPS } from '../features/attribute-heads.js';
import { clipImageToOnnx, clipTextToOnnx, perceptionToOnnx } from '../features/networks.js';
import { embeddedPerceptionSpec, evaluatePerception, trainPerception, type TrainingLog } from '../features/train-perception.js';
import { embeddedClipSpec, evaluateClip, trainClip } from '../features/train-clip.js';
import { captionTokenizerJson } from '../features/tokenizer-json.js';
import { writeModelManifest } from './model-manifest.js';
import type { ExtractorsRecipe } from './schema.js';
import { BadInputError } from '../errors.js';

export type ExtractorPart = 'perception' | 'clip';

/** Writes the ONNX models again from the saved weights (after an export change, without retraining). */
export async function reexportExtractors(recipe: ExtractorsRecipe, parts: readonly ExtractorPart[]): Promise<void> {
  await selectBackend('cpu');
  const size = (await readSyntheticRecipe(recipe.dataset)).options.size;
  const load = (name: string): ParamMap => Object.fromEntries(Object.entries(loadSafetensors(join(recipe.out, name)).tensors).map(([k, t]) => [k, tf.variable(t, false)]));
  if (parts.includes('perception')) await writeFileAtomically(join(recipe.out, 'perception.onnx'), perceptionToOnnx(load('perception.safetensors'), embeddedPerceptionSpec(size)));
  if (parts.includes('clip')) {
    const params = load('clip.safetensors');
    await writeFileAtomically(join(recipe.out, 'clip-image.onnx'), clipImageToOnnx(params, embeddedClipSpec(size)));
    await writeFileAtomically(join(recipe.out, 'clip-text.onnx'), clipTextToOnnx(params, embeddedClipSpec(size)));
    await writeJsonAtomically(join(recipe.out, 'tokenizer.json'), captionTokenizerJson(embeddedClipSpec(size).text.length));
  }
}

/**
 * Trains the embedded feature networks on the synthetic train split, checks them on val, and writes ONNX
 * models (what evaluation runs), safetensors weights, a JSON description of each and the manifest.
 */
export async function trainExtractors(recipeFile: string, recipe: ExtractorsRecipe, parts: readonly ExtractorPart[], log: (line: string) => void): Promise<Record<string, unknown>> {
  const backend = await selectBackend(recipe.backend);
  const data = await readSyntheticRecipe(recipe.dataset);
  const set = generateSyntheticSet(data.options);
  if (parts.length > 0 && (set.train.images.length === 0 || set.val.images.length === 0)) {
    throw new BadInputError('DATASET_EMPTY_SPLIT', `${recipe.dataset}: ${set.train.images.length} train / ${set.val.images.length} val images; the feature networks train on one and are checked on the other`, 'set options.nTrain and options.nVal to at least 1');
  }
  const size = data.options.size;
  const results: Record<string, unknown> = {};
  const progress = (what: string): TrainingLog => (e) => {
    if (e.step % 50 === 0 || e.step === e.total) log(`${what}: step ${e.step}/${e.total} epoch ${e.epoch + 1} loss ${e.loss.toFixed(4)}`);
  };
  const common = { dataset: recipe.dataset, dataset_fingerprint: set.fingerprint.set, backend: backend.name, train_images: set.train.images.length, val_images: set.val.images.length };

  if (parts.includes('perception')) {
    const spec = embeddedPerceptionSpec(size);
    const t0 = Date.now();
    const params = trainPerception(set.train.images, spec, { epochs: recipe.perception.epochs, batchSize: recipe.perception.batch_size, learningRate: recipe.perception.learning_rate, seed: recipe.perception.seed, noiseStdMax: recipe.perception.noise_std_max }, progress('perception'));
    const val = evaluatePerception(params, spec, set.val.images);
    const valNoisy = evaluatePerception(params, spec, set.val.images, 0.1);
    await writeFileAtomically(join(recipe.out, 'perception.onnx'), perceptionToOnnx(params, spec));
    await saveSafetensors(join(recipe.out, 'perception.safetensors'), params);
    results.perception = { ...common, spec, val, val_noise_0_1: valNoisy, seconds: (Date.now() - t0) / 1000, training: recipe.perception };
    await writeJsonAtomically(join(recipe.out, 'perception.json'), {
      ...(results.perception as object),
      inputs: { images: `float32 [N, 3, ${size}, ${size}], RGB, (x - 128) / 128` },
      outputs: { pool: `float32 [N, ${spec.trunk.features}]: the FID feature space`, logits: `float32 [N, ${spec.logits}]: attribute groups below` },
      attribute_groups: ATTRIBUTE_GROUPS,
    });
    log(`perception: val group accuracy ${val.group_accuracy.toFixed(4)}, scene accuracy ${val.scene_accuracy.toFixed(4)}; with pixel noise std 0.1: ${valNoisy.group_accuracy.toFixed(4)}, ${valNoisy.scene_accuracy.toFixed(4)}`);
  }
  if (parts.includes('clip')) {
    const spec = embeddedClipSpec(size);
    const t0 = Date.now();
    const params = trainClip(set.train.images, spec, { epochs: recipe.clip.epochs, batchSize: recipe.clip.batch_size, learningRate: recipe.clip.learning_rate, seed: recipe.clip.seed, noiseStdMax: recipe.clip.noise_std_max }, progress('clip'));
    const val = evaluateClip(params, spec, set.val.images);
    await writeFileAtomically(join(recipe.out, 'clip-image.onnx'), clipImageToOnnx(params, spec));
    await writeFileAtomically(join(recipe.out, 'clip-text.onnx'), clipTextToOnnx(params, spec));
    await writeJsonAtomically(join(recipe.out, 'tokenizer.json'), captionTokenizerJson(spec.text.length));
    await saveSafetensors(join(recipe.out, 'clip.safetensors'), params);
    results.clip = { ...common, spec, val, seconds: (Date.now() - t0) / 1000, training: recipe.clip };
    await writeJsonAtomically(join(recipe.out, 'clip.json'), {
      ...(results.clip as object),
      inputs: { pixel_values: `float32 [N, 3, ${size}, ${size}], RGB, (x - 128) / 128`, input_ids: `int64 [N, ${spec.text.length}] from tokenizer.json` },
      outputs: { image_embeds: `float32 [N, ${spec.embed}], unit length`, text_embeds: `float32 [N, ${spec.embed}], unit length`, last_hidden_state: `float32 [N, ${spec.text.length}, ${spec.text.width}]: conditions the embedded teacher` },
    });
    log(`clip: val retrieval top-1 ${val.retrieval_top1.toFixed(4)} (groups of 100), cosine matched ${val.mean_cosine_matched.toFixed(3)} vs mismatched ${val.mean_cosine_mismatched.toFixed(3)}`);
  }
  await writeModelManifest(recipe.out, recipeFile, {});
  tf.disposeVariables();
  return results;
}
