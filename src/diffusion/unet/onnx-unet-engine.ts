// The embedded UNet on ONNX Runtime as a synchronous UNetEngine: the graphs of onnx-graph.ts (weights frozen in at
// creation; the LoRA graph takes the A/B matrices as inputs) run through the synchronous session, so the teacher passes of a
// distillation step can run inside tfjs's custom-gradient forward and the samplers keep their synchronous loop.
// One session per input size (and graph: base, LoRA), 1 intra-op thread unless told (a pool worker owns one core),
// sequential execution: the same inputs give the same bits run to run. Why ORT: tfjs pays ≈ 11 µs per kernel call
// and this network is made of tiny kernels; ORT runs the same graph with fused kernels and no per-op dispatch
// (BENCHMARKS.md, "The embedded UNet through ONNX Runtime"; test/diffusion/unet-onnx.test.ts holds it to unetForward).
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { BadInputError, FailureError } from '../../errors.js';
import { timestepFeatures } from '../../nn/layers.js';
import type { LoraAdapter, LoraConfig } from '../../nn/lora.js';
import type { ParamMap } from '../../nn/params.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import { openSyncOnnxSession, type SyncOnnxSession } from '../../onnx/sync-session.js';
import type { Timesteps } from '../parameterization.js';
import { alphaSigma, scaledLinearSchedule } from '../schedule.js';
import { inputMultiple } from './config.js';
import { ONNX_UNET_OUTPUT, loraWeightNames, unetToOnnx, type WeightSnapshot } from './onnx-graph.js';
import type { UNet } from './unet.js';
import type { UNetEngine } from './unet-engine.js';

export interface OnnxUNetEngineOptions {
  /** the adapter's shape (rank, alpha, targets); its weights are read from the adapter at every call */
  lora?: LoraConfig | undefined;
  provider?: ExecutionProvider | 'auto';
  threads?: number;
}

// the embedded UNet's v body converts with the schedule it was trained on (unet.ts epsFromV)
const SCHEDULE = scaledLinearSchedule();

const f32 = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;

/** the base weights read out of tfjs once, at creation (a teacher is frozen; a copy, so a later assign leaves them) */
const snapshotWeights = (params: ParamMap): WeightSnapshot =>
  Object.fromEntries(Object.entries(params).map(([name, v]) => [name, { data: new Float32Array(f32(v)), shape: [...v.shape] }]));

/**
 * Frozen passes (no adapter, or one switched off) run the base graph; passes with the adapter switched on run the
 * graph with its A/B inputs (alpha/rank built in), fed the adapter's weights as they are at the call.
 */
export function onnxUNetEngine(net: UNet, options: OnnxUNetEngineOptions = {}): UNetEngine {
  const config = net.config;
  const weights: WeightSnapshot = snapshotWeights(net.params);
  const lora = options.lora;
  const adapted = lora === undefined ? [] : loraWeightNames(weights, lora);
  if (lora !== undefined && adapted.length === 0) {
    throw new BadInputError('LORA_NO_TARGET', `no weight of the network matches the LoRA targets ${lora.targets.join(', ')}`, 'pick distill.lora_teacher.targets the teacher has (q, k, v, out need attention levels; conv and time every ResBlock)');
  }
  const sessions = new Map<string, SyncOnnxSession>();
  const sessionFor = (height: number, width: number, withLora: boolean): SyncOnnxSession => {
    const key = `${height}x${width}${withLora ? ':lora' : ''}`;
    let session = sessions.get(key);
    if (session === undefined) {
      const { model } = unetToOnnx(config, weights, { height, width, lora: withLora ? lora : undefined });
      session = openSyncOnnxSession(model, { ...(options.provider ? { provider: options.provider } : {}), threads: options.threads ?? 1 }, (reason) => new FailureError('ONNX_UNET_LOAD', `onnxruntime did not load the embedded UNet's graph (${height}×${width}): ${reason}`));
      sessions.set(key, session);
    }
    return session;
  };
  const adapterFeeds = (adapter: LoraAdapter): Record<string, ort.Tensor> => {
    if (lora === undefined) throw new Error('onnx unet engine: an adapter was given to an engine made without a LoRA shape');
    if (adapter.config.rank !== lora.rank || adapter.config.alpha !== lora.alpha) {
      throw new Error(`onnx unet engine: the adapter (rank ${adapter.config.rank}, alpha ${adapter.config.alpha}) differs from the engine's LoRA shape (rank ${lora.rank}, alpha ${lora.alpha})`);
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of adapted) {
      for (const part of ['lora_a', 'lora_b']) {
        const p = adapter.params[`${name}.${part}`];
        if (p === undefined) throw new Error(`onnx unet engine: the adapter has no ${name}.${part}; it was made for other targets than the engine's`);
        feeds[`${name}.${part}`] = new ort.Tensor('float32', f32(p), [...p.shape]);
      }
    }
    return feeds;
  };

  let open = true;
  return {
    name: 'onnx',
    forward(x, t, cond, adapter) {
      if (!open) throw new Error('onnx unet engine: forward after dispose');
      const [batch, height, width, channels] = x.shape;
      if (channels !== config.inChannels) throw new Error(`onnx unet engine: x must be [B, H, W, ${config.inChannels}], got [${x.shape.join(', ')}]`);
      const side = inputMultiple(config);
      if (height % side !== 0 || width % side !== 0) {
        throw new BadInputError('UNET_INPUT_SIZE', `unet input ${height}x${width} must divide by ${side} (patch ${config.patchSize ?? 1}, ${config.channelMults.length} levels)`, 'make the image size a multiple of patch size × 2^(levels − 1), or change unet.channelMults / patchSize');
      }
      if (cond.shape[0] !== batch) throw new Error(`onnx unet engine: cond batch ${cond.shape[0]} differs from x batch ${batch}`);
      const ts = typeof t === 'number' ? Array.from({ length: batch }, () => t) : [...t];
      if (ts.length !== batch) throw new Error(`onnx unet engine: ${ts.length} timesteps for a batch of ${batch}`);
      // read outside a tidy: tf.tidy walks a returned typed array key by key looking for tensors (≈ 0.5 µs an element)
      const featureTensor = timestepFeatures(ts, config.baseChannels);
      const features = f32(featureTensor);
      featureTensor.dispose();
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', f32(x), [...x.shape]),
        t_features: new ort.Tensor('float32', features, [batch, config.baseChannels]),
        cond: new ort.Tensor('float32', f32(cond), [...cond.shape]),
      };
      if (config.bodyPredicts === 'v') {
        const coef = ts.map((ti) => alphaSigma(SCHEDULE, ti));
        feeds['sigma'] = new ort.Tensor('float32', Float32Array.from(coef, (c) => c.sigma), [batch, 1, 1, 1]);
        feeds['alpha'] = new ort.Tensor('float32', Float32Array.from(coef, (c) => c.alpha), [batch, 1, 1, 1]);
      }
      const withLora = adapter?.enabled === true;
      if (withLora) Object.assign(feeds, adapterFeeds(adapter));
      const out = sessionFor(height, width, withLora).run(feeds)[ONNX_UNET_OUTPUT];
      if (out === undefined || !(out.data instanceof Float32Array)) throw new Error('onnx unet engine: the session returned no float32 eps');
      return tf.tensor4d(out.data, [batch, height, width, config.outChannels]);
    },
    dispose() {
      for (const s of sessions.values()) s.dispose();
      sessions.clear();
      open = false;
    },
  };
}
