import * as tf from '@tensorflow/tfjs';
import { dirname, join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { generateSyntheticSet, writeSyntheticSet } from '../../src/data/index.js';
import { captionVocabulary } from '../../src/data/tokenizer.js';
import { initUNet } from '../../src/diffusion/unet/index.js';
import { WeightInitializer, type ParamMap } from '../../src/nn/params.js';
import { clipImageForward, clipImageToOnnx, clipTextForward, clipTextToOnnx, perceptionForward, perceptionToOnnx, type ClipSpec, type PerceptionSpec } from '../../src/features/networks.js';
import { ATTRIBUTE_LOGITS } from '../../src/features/attribute-heads.js';
import { textEncoderFrom } from '../../src/features/text-encoder.js';
import { captionTokenizerJson } from '../../src/features/tokenizer-json.js';
import { saveTeacher } from '../../src/teacher/bundle.js';

/**
 * A complete miniature world on disk, with untrained (randomly initialised) networks: enough to run every
 * stage for real in seconds. The trained embedded models live in models/embedded.
 */
export async function writeTinyWorld(dir: string): Promise<void> {
  await tf.setBackend('cpu');
  await writeSyntheticSet(join(dir, 'data'), generateSyntheticSet({ seed: 5, nTrain: 40, nVal: 24 }));
  const { clip, clipParams: c } = writeUntrainedExtractors({ perception: join(dir, 'perception.onnx'), clipImage: join(dir, 'clip-image.onnx'), clipText: join(dir, 'clip-text.onnx'), tokenizer: join(dir, 'tokenizer.json') });
  const unet = initUNet({ inChannels: 3, outChannels: 3, baseChannels: 8, channelMults: [1, 2], resBlocksPerLevel: 1, attentionLevels: [false, true], heads: 2, condDim: 16, groups: 4, zeroInit: false }, 3);
  const textParams = Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('text.')));
  await saveTeacher(join(dir, 'teacher'), unet, textEncoderFrom(clip.text, textParams), { height: 32, width: 32, channels: 3 }, { note: 'untrained, for tests' });
  tf.disposeVariables();
}

/** where writeUntrainedExtractors puts each network */
export interface ExtractorFiles {
  perception: string;
  clipImage: string;
  clipText: string;
  tokenizer: string;
}

/**
 * Untrained (randomly initialised) feature networks as ONNX, the shapes of the embedded ones in miniature: the
 * perception network (FID features + attribute logits) and the CLIP towers with their tokenizer. Returns the CLIP
 * spec and weights (a tiny teacher reuses its text tower).
 */
export function writeUntrainedExtractors(files: ExtractorFiles): { clip: ClipSpec; clipParams: ParamMap } {
  const trunk = { channels: [4, 8], strides: [2, 2], features: 16 };
  const perception: PerceptionSpec = { kind: 'perception', size: 32, trunk, logits: ATTRIBUTE_LOGITS };
  const clip: ClipSpec = { kind: 'clip', size: 32, trunk, text: { vocab: captionVocabulary().tokens.length, length: 24, width: 16, layers: 1, heads: 2, mlp: 16 }, embed: 8 };
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  const p = new WeightInitializer(1, false);
  perceptionForward({ weights: p }, perception, x);
  const c = new WeightInitializer(2, false);
  clipImageForward({ weights: c }, clip, x);
  clipTextForward({ weights: c }, clip, tf.zeros([1, 24], 'int32'));
  for (const f of Object.values(files)) mkdirSync(dirname(f), { recursive: true });
  writeFileSync(files.perception, perceptionToOnnx(p.params, perception));
  writeFileSync(files.clipImage, clipImageToOnnx(c.params, clip));
  writeFileSync(files.clipText, clipTextToOnnx(c.params, clip));
  writeFileSync(files.tokenizer, JSON.stringify(captionTokenizerJson(24)));
  tf.dispose(x);
  return { clip, clipParams: c.params };
}

/** An experiment over the tiny world: VSD and SDS students, the teacher at one step and with DDIM. */
export const tinyExperiment = (dir: string): string => `name: tiny-study
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill:
    prompts: ${join(dir, 'data/annotations/captions_train.json')}
    steps: 3
    batch_size: 2
    checkpoint_every: 2
    log_every: 1
    student: { learning_rate: 1.0e-4 }
    lora_teacher: { rank: 2, alpha: 2 }
  generate: { num_samples: 8, batch_size: 4 }
  evaluate:
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 8, seed: 0 }
    metrics:
      - { name: fid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')} }
      - { name: kid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, subsets: 5, subset_size: 4 }
      - { name: precision-recall, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, k: 3 }
      - { name: clip-score, convention: cosine-mean, prefix: "", image_encoder: ${join(dir, 'clip-image.onnx')}, text_encoder: ${join(dir, 'clip-text.onnx')}, tokenizer: ${join(dir, 'tokenizer.json')} }
      - { name: faithfulness, classifier: ${join(dir, 'perception.onnx')} }
matrix:
  distill.lora_teacher.enabled: [true, false]
include:
  - { distill.enabled: false, generate.sampler: one-step, generate.steps: 1 }
  - { distill.enabled: false, generate.sampler: ddim, generate.steps: 4 }
seeds: [0]
`;
