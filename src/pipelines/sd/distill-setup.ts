// A diffusers Stable Diffusion folder set up for latent distillation (SwiftBrush): the UNet's weights as the frozen
// teacher's ParamMap (the student and its EMA are copies the trainer makes), the schedule and prediction type of its
// scheduler, the prompts' text embeddings computed once per caption set and cached on disk (as the official
// prepare.py does), and the VAE for previews. The trainer's DistillModels is built from this by the distill stage.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { PredictionType } from '../../diffusion/parameterization.js';
import { scheduleFromConfig } from '../../diffusion/scheduler-config.js';
import type { NoiseSchedule } from '../../diffusion/schedule.js';
import type { ParamMap } from '../../nn/params.js';
import { sdTextEncode } from '../../models/sd/text-encoder.js';
import { loadSdUNetParams } from '../../models/sd/unet-params.js';
import type { UNetConfig } from '../../models/sd/unet-config.js';
import { sdVaeDecode } from '../../models/sd/vae.js';
import { sha256, sha256File, sha256Parts } from '../../util/hash.js';
import { openSafetensors } from '../../weights/safetensors-file.js';
import { saveSafetensors, toTensor } from '../../weights/safetensors.js';
import { loadSdPipeline, type SdPipeline } from './load-pipeline.js';

export interface SdDistillSetup {
  dir: string;
  unetConfig: UNetConfig;
  prediction: PredictionType;
  schedule: NoiseSchedule;
  /** the frozen teacher UNet's weights (not trainable) */
  teacher: ParamMap;
  /** latent shape [h, w, c] of one sample (the UNet's sample_size) */
  latentShape: readonly [number, number, number];
  /** text embeddings [B, 77, D] of captions from the prompt set (read from the cache) */
  encodeText(captions: readonly string[]): tf.Tensor3D;
  /** the embedding of "" [1, 77, D] */
  nullText: tf.Tensor3D;
  /** latents → images [B, H, W, 3] in about [−1, 1] */
  decode(latents: tf.Tensor4D): tf.Tensor4D;
  /** the cache file the embeddings came from, and whether this call computed it */
  embeddings: { file: string; computed: boolean };
  dispose(): void;
}

/** prompts per tensor of the cache file: a lookup reads one chunk, never the whole set */
const CHUNK = 256;
const BATCH = 16;

/** $VSDLAB_PROMPT_CACHE, else $XDG_CACHE_HOME/vsdlab/prompt-embeds (~/.cache/vsdlab/prompt-embeds) */
export const defaultPromptCacheDir = (): string =>
  process.env.VSDLAB_PROMPT_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '.', '.cache'), 'vsdlab', 'prompt-embeds');

/**
 * What decides the embeddings: the text encoder's weights and config, the tokenizer's files, and the prompts.
 * Hashing a 1.4 GB text encoder takes seconds, once per run.
 */
async function embeddingsKey(p: SdPipeline, prompts: readonly string[]): Promise<string> {
  const files = [...p.folder.textEncoder.weights.files, p.folder.textEncoder.configPath, p.folder.tokenizer.vocab, p.folder.tokenizer.merges, ...p.folder.tokenizer.extra];
  const hashes: string[] = [];
  for (const f of files) hashes.push(await sha256File(f));
  return sha256Parts([...hashes, sha256(prompts.join('\n'))]);
}

/** embeds every prompt and "" in batches; one tensor per CHUNK prompts, plus `null` */
async function computeEmbeddings(p: SdPipeline, prompts: readonly string[], file: string, progress?: (done: number, total: number) => void): Promise<void> {
  const encode = (batch: readonly string[]): tf.Tensor3D =>
    tf.tidy(() => sdTextEncode(p.textEncoder.layer, p.textEncoder.config, tf.tensor2d(p.tokenizer.encodeBatch(batch), [batch.length, p.tokenizer.maxLength], 'int32')));
  const tensors: Record<string, tf.Tensor> = { null: encode(['']) };
  for (let first = 0; first < prompts.length; first += CHUNK) {
    const parts: tf.Tensor3D[] = [];
    for (let b = first; b < Math.min(first + CHUNK, prompts.length); b += BATCH) {
      parts.push(encode(prompts.slice(b, Math.min(b + BATCH, first + CHUNK, prompts.length))));
      progress?.(Math.min(b + BATCH, prompts.length), prompts.length);
      await new Promise((r) => setImmediate(r));
    }
    tensors[`chunk/${first / CHUNK}`] = tf.concat(parts);
    tf.dispose(parts);
  }
  mkdirSync(join(file, '..'), { recursive: true });
  await saveSafetensors(file, tensors, { prompts: String(prompts.length), chunk: String(CHUNK) });
  tf.dispose(Object.values(tensors));
}

export interface SdDistillSetupOptions {
  /** where the prompt embeddings are cached (default: defaultPromptCacheDir()) */
  cacheDir?: string;
  /** progress of computing the embeddings, when the cache has none */
  progress?: (done: number, total: number) => void;
}

/** opens `dir` for distilling on `prompts` (the stage picks captions from this list by index) */
export async function loadSdDistillSetup(dir: string, prompts: readonly string[], options: SdDistillSetupOptions = {}): Promise<SdDistillSetup> {
  const p = loadSdPipeline(dir);
  const teacher = loadSdUNetParams(p.folder.unet, false);
  const key = await embeddingsKey(p, prompts);
  const file = join(options.cacheDir ?? defaultPromptCacheDir(), `${key}.safetensors`);
  const computed = !existsSync(file);
  if (computed) await computeEmbeddings(p, prompts, file, options.progress);
  const view = openSafetensors(file);
  const nullText = tf.keep(toTensor(view.read('null'))) as tf.Tensor3D;
  const index = new Map<string, number>();
  prompts.forEach((prompt, i) => {
    if (!index.has(prompt)) index.set(prompt, i);
  });
  // the chunk last read stays in memory: batches drawn at random still hit it only by chance, but a chunk is small
  let cached: { chunk: number; tensor: tf.Tensor3D } | undefined;
  const chunkOf = (chunk: number): tf.Tensor3D => {
    if (cached?.chunk !== chunk) {
      cached?.tensor.dispose();
      cached = { chunk, tensor: tf.keep(toTensor(view.read(`chunk/${chunk}`))) as tf.Tensor3D };
    }
    return cached.tensor;
  };
  const encodeText = (captions: readonly string[]): tf.Tensor3D =>
    tf.tidy(() =>
      tf.concat(
        captions.map((c) => {
          const i = index.get(c);
          if (i === undefined) throw new Error(`prompt embeddings: "${c}" is not in the distillation prompts`);
          return tf.slice(chunkOf(Math.floor(i / CHUNK)), [i % CHUNK, 0, 0], [1, -1, -1]);
        }),
      ) as tf.Tensor3D,
    );
  const config = p.folder.unet.config;
  return {
    dir,
    unetConfig: config,
    prediction: p.scheduler.prediction_type ?? 'epsilon',
    schedule: scheduleFromConfig(p.scheduler),
    teacher,
    latentShape: [config.sample_size ?? 64, config.sample_size ?? 64, config.in_channels],
    encodeText,
    nullText,
    decode: (latents) => tf.tidy(() => sdVaeDecode(p.vae.layer, p.vae.config, latents)),
    embeddings: { file, computed },
    dispose: () => {
      cached?.tensor.dispose();
      nullText.dispose();
      view.close();
      for (const w of Object.values(teacher)) w.dispose();
      p.dispose();
    },
  };
}

