// The ONNX Runtime engine: Optimum's ONNX folder behind the SdEngine surface. The graphs take channels-first
// float32 arrays; the samplers' channels-last tfjs tensors are transposed at this boundary (exact), and the
// 1/scaling_factor division before the decoder is done here with the same tfjs op as the tfjs engine.
import * as tf from '@tensorflow/tfjs';
import type { Timesteps } from '../../diffusion/parameterization.js';
import { parseSchedulerConfig } from '../../diffusion/scheduler-config.js';
import type { ClipTextCleaning } from '../../models/sd/clip-bpe-tokenizer.js';
import type { OnnxSessionOptions } from '../../models/sd/onnx/onnx-component.js';
import { readOnnxPipelineFolder } from '../../models/sd/onnx/onnx-pipeline-folder.js';
import { OnnxTextEncoder, OnnxUNet, OnnxVaeDecoder, type FloatArray } from '../../models/sd/onnx/optimum-networks.js';
import { loadClipBpeTokenizer } from '../../models/sd/tokenizer-folder.js';
import type { SdEngine } from './engine.js';

export interface OnnxEngineOptions extends OnnxSessionOptions {
  tokenizerCleaning?: ClipTextCleaning;
}

/** a channels-last tensor as the channels-first array the graphs take */
async function channelsFirst(x: tf.Tensor): Promise<FloatArray> {
  const t = tf.transpose(x, [0, 3, 1, 2]);
  try {
    return { data: (await t.data()) as Float32Array, dims: t.shape };
  } finally {
    t.dispose();
  }
}

/** a graph's channels-first output as a channels-last tensor */
const channelsLast = (a: FloatArray): tf.Tensor4D =>
  tf.tidy(() => tf.transpose(tf.tensor4d(a.data, a.dims as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D);

const perSample = (t: Timesteps, batch: number): readonly number[] => (typeof t === 'number' ? new Array<number>(batch).fill(t) : t);

export async function loadOnnxSdEngine(dir: string, options: OnnxEngineOptions = {}): Promise<SdEngine> {
  const folder = readOnnxPipelineFolder(dir);
  const scheduler = parseSchedulerConfig(folder.scheduler.config, folder.scheduler.configPath);
  const tokenizer = loadClipBpeTokenizer(folder.tokenizerDir, options.tokenizerCleaning === undefined ? {} : { cleaning: options.tokenizerCleaning });
  const session = { ...(options.provider ? { provider: options.provider } : {}), ...(options.threads !== undefined ? { threads: options.threads } : {}) };
  const opened: Array<{ component: { release(): Promise<void> } }> = [];
  const open = async <T extends { component: { release(): Promise<void> } }>(p: Promise<T>): Promise<T> => {
    const n = await p;
    opened.push(n);
    return n;
  };
  const release = async (): Promise<void> => {
    await Promise.all(opened.map((n) => n.component.release()));
  };
  try {
    const textEncoder = await open(OnnxTextEncoder.open(folder.textEncoder, session));
    const unet = await open(OnnxUNet.open(folder.unet, session));
    const vae = await open(OnnxVaeDecoder.open(folder.vaeDecoder, session));
    return {
      name: 'onnx',
      dir,
      scheduler,
      schedulerConfigPath: folder.scheduler.configPath,
      latentChannels: folder.latentChannels,
      sampleSize: folder.sampleSize,
      vaeScale: folder.vaeScale,
      warnings: [],
      encodePrompts: async (prompts) => {
        const h = await textEncoder.encode(tokenizer.encodeBatch(prompts), prompts.length, tokenizer.maxLength);
        return tf.tensor3d(h.data, h.dims as [number, number, number]);
      },
      unet: async (xt, t, cond) => {
        const sample = await channelsFirst(xt);
        const context = { data: (await cond.data()) as Float32Array, dims: cond.shape };
        return channelsLast(await unet.predict(sample, perSample(t, xt.shape[0] ?? 1), context));
      },
      decode: async (latents) => {
        const scaled = tf.div(latents, folder.scalingFactor);
        try {
          return channelsLast(await vae.decode(await channelsFirst(scaled)));
        } finally {
          scaled.dispose();
        }
      },
      dispose: release,
    };
  } catch (err) {
    await release();
    throw err;
  }
}
