// The embedded UNet run by onnxruntime instead of tfjs, for passes that are never differentiated (sampling, the
// frozen and LoRA teacher passes of a distillation step): tfjs pays ≈ 11 µs per kernel call and this network is
// made of tiny kernels; ORT runs the same graph (onnx-graph.ts) with fused kernels and no per-op dispatch.
//
//   const engine = createOnnxUNet(net, { lora: adapter.config });   // lora optional; weights are read here, once
//   const eps = await engine.run(x, t, cond, adapter);             // x [B,H,W,C] tfjs tensor → ε̂, a new tensor
//   const mixed = await engine.run(x, t, cond, { adapter, on: [true, true, false, false] }); // frozen + LoRA in one batch
//   const model = onnxUNetDenoiser(engine);                         // for ddimSampleAsync / guidedAsync
//   await engine.dispose();
//
// - same semantics as unetForward (test/diffusion/unet-onnx.test.ts: within 2e-5), deterministic run to run;
// - the base weights are snapshotted at creation (a teacher is frozen); the LoRA A/B matrices are read at every
//   run (they change every training step), or once per step with loraFeeds() when several runs share them;
// - a LoRA engine run without an adapter, or with `on` false for a sample, computes the base network for it
//   (those samples go through the graph without LoRA: one run per group, results put back in batch order);
// - the adapter's `enabled` flag and weights are read when run() is called, so withLora(adapter, false, () =>
//   engine.run(…, adapter)) runs the frozen network;
// - one session per input size (and graph: base, LoRA), built from the in-memory model on first use: 1 intra-op and 1 inter-op thread,
//   sequential execution, all graph optimizations (a worker owns one core); ≈ 80 MB of RSS at B = 100.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { BadInputError } from '../../errors.js';
import { timestepFeatures } from '../../nn/layers.js';
import type { LoraAdapter, LoraConfig } from '../../nn/lora.js';
import type { ParamMap } from '../../nn/params.js';
import type { AsyncDenoiserFn } from '../denoiser.js';
import type { Timesteps } from '../parameterization.js';
import { alphaSigma, scaledLinearSchedule } from '../schedule.js';
import { type UNetConfig, inputMultiple } from './config.js';
import { ONNX_UNET_OUTPUT, type WeightSnapshot, loraWeightNames, unetToOnnx } from './onnx-graph.js';
import type { UNet } from './unet.js';

export interface OnnxUNetOptions {
  /** the LoRA adapter's shape (rank, alpha, targets as lora.ts matches them); its weights are given at each run */
  lora?: LoraConfig | undefined;
  /** intra-op threads (default 1: one worker per core) */
  threads?: number | undefined;
}

/** the adapter's A/B matrices as ORT feeds, read once (reuse them for every run of one training step) */
export interface LoraFeeds {
  /** alpha / rank (the engine's graph applies its LoRA shape's; feeds of another scale are refused) */
  readonly scale: number;
  readonly feeds: Readonly<Record<string, ort.Tensor>>;
}

/** which adapter, and for which samples (one flag for the batch, or one per sample); `on` defaults to adapter.enabled */
export interface LoraRun {
  adapter: LoraAdapter | LoraFeeds;
  on?: boolean | readonly boolean[] | undefined;
}

/** a tensor's data in host memory, row-major, with its shape */
export interface HostTensor {
  data: Float32Array;
  shape: readonly number[];
}

export interface OnnxUNet {
  readonly config: UNetConfig;
  /** the adapted weight names (`….w`), empty without LoRA */
  readonly loraWeights: readonly string[];
  /** ε̂ for x [B,H,W,C] (NHWC), per-batch or per-sample t, cond [B,L,D]; the caller owns the result */
  run(x: tf.Tensor4D, t: Timesteps, cond: tf.Tensor3D, lora?: LoraAdapter | LoraRun): Promise<tf.Tensor4D>;
  /** the same on host arrays: returns ε̂'s data [B,H,W,outChannels] */
  runArrays(x: HostTensor, t: Timesteps, cond: HostTensor, lora?: LoraAdapter | LoraRun): Promise<Float32Array>;
  /** the adapter's weights as feeds, for several runs with the same weights */
  loraFeeds(adapter: LoraAdapter): LoraFeeds;
  dispose(): Promise<void>;
}

const SCHEDULE = scaledLinearSchedule();

/** a ParamMap's values read out of tfjs (synchronously: the backend may be wasm or cpu) */
export const snapshotWeights = (params: ParamMap): WeightSnapshot =>
  Object.fromEntries(Object.entries(params).map(([name, v]) => [name, { data: new Float32Array(v.dataSync() as Float32Array), shape: [...v.shape] }]));

const sameTargets = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((n, i) => n === b[i]);

const isLoraRun = (l: LoraAdapter | LoraRun): l is LoraRun => 'adapter' in l;
const isFeeds = (a: LoraAdapter | LoraFeeds): a is LoraFeeds => 'feeds' in a;

export const createOnnxUNet = (net: UNet, options: OnnxUNetOptions = {}): OnnxUNet => {
  const config = net.config;
  const weights = snapshotWeights(net.params);
  const lora = options.lora;
  const loraWeights = lora === undefined ? [] : loraWeightNames(weights, lora);
  if (lora !== undefined && loraWeights.length === 0) {
    throw new BadInputError('LORA_NO_TARGET', `no weight of the network matches the LoRA targets ${lora.targets.join(', ')}`, 'pick distill.lora_teacher.targets the teacher has (q, k, v, out need attention levels; conv and time every ResBlock)');
  }
  // a weight that does not fit the architecture fails here, not at the first run
  unetToOnnx(config, weights, { height: inputMultiple(config), width: inputMultiple(config), lora });
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // the memory pattern pre-plans one block per input shape: at B = 100, 125 MB of RSS instead of 82 MB with it
    // off, at the same CPU time (measured on the committed teacher); the study's workers share a 1.5 GB budget
    enableMemPattern: false,
  };
  // per input size, the base graph and (for on-samples) the LoRA graph
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  const sessionFor = (height: number, width: number, adapted: boolean): Promise<ort.InferenceSession> => {
    const key = `${height}x${width}${adapted ? ':lora' : ''}`;
    let s = sessions.get(key);
    if (s === undefined) {
      const { model } = unetToOnnx(config, weights, { height, width, lora: adapted ? lora : undefined });
      s = ort.InferenceSession.create(model, sessionOptions);
      sessions.set(key, s);
    }
    return s;
  };

  const loraFeeds = (adapter: LoraAdapter): LoraFeeds => {
    if (lora === undefined) throw new Error('onnx unet: this engine was created without a LoRA shape');
    const names = Object.keys(adapter.params)
      .filter((k) => k.endsWith('.lora_a'))
      .map((k) => k.slice(0, -'.lora_a'.length))
      .sort();
    if (!sameTargets(names, loraWeights) || adapter.config.rank !== lora.rank || adapter.config.alpha !== lora.alpha) {
      throw new Error(`onnx unet: the adapter (rank ${adapter.config.rank}, alpha ${adapter.config.alpha}, ${names.length} weights) differs from the engine's LoRA shape (rank ${lora.rank}, alpha ${lora.alpha}, ${loraWeights.length} weights)`);
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of loraWeights) {
      for (const part of ['lora_a', 'lora_b']) {
        const p = adapter.params[`${name}.${part}`] as tf.Variable;
        feeds[`${name}.${part}`] = new ort.Tensor('float32', new Float32Array(p.dataSync() as Float32Array), [...p.shape]);
      }
    }
    return { scale: adapter.config.alpha / adapter.config.rank, feeds };
  };

  const pinLora = (loraIn: LoraAdapter | LoraRun): LoraRun => {
    const run: LoraRun = isLoraRun(loraIn) ? loraIn : { adapter: loraIn };
    if (isFeeds(run.adapter)) return { adapter: run.adapter, on: run.on ?? true };
    const on = run.on ?? run.adapter.enabled;
    // every sample off: the base graph alone runs, and the adapter's weights need not be read
    if (on === false || (typeof on !== 'boolean' && !on.includes(true))) return { adapter: { scale: run.adapter.config.alpha / run.adapter.config.rank, feeds: {} }, on };
    return { adapter: loraFeeds(run.adapter), on };
  };

  const runArrays = async (x: HostTensor, t: Timesteps, cond: HostTensor, loraIn?: LoraAdapter | LoraRun): Promise<Float32Array> => {
    const [batch, height, width, channels] = x.shape as [number, number, number, number];
    if (x.shape.length !== 4 || channels !== config.inChannels) throw new Error(`onnx unet: x must be [B, H, W, ${config.inChannels}], got [${x.shape.join(', ')}]`);
    const side = inputMultiple(config);
    if (height % side !== 0 || width % side !== 0) {
      throw new BadInputError('UNET_INPUT_SIZE', `unet input ${height}x${width} must divide by ${side} (patch ${config.patchSize ?? 1}, ${config.channelMults.length} levels)`, 'make the image size a multiple of patch size × 2^(levels − 1), or change unet.channelMults / patchSize');
    }
    if (cond.shape.length !== 3 || cond.shape[0] !== batch || cond.shape[2] !== config.condDim) throw new Error(`onnx unet: cond must be [${batch}, L, ${config.condDim}], got [${cond.shape.join(', ')}]`);
    const ts = typeof t === 'number' ? Array.from({ length: batch }, () => t) : [...t];
    if (ts.length !== batch) throw new Error(`onnx unet: ${ts.length} timesteps for a batch of ${batch}`);

    const features = tf.tidy(() => timestepFeatures(ts, config.baseChannels).dataSync() as Float32Array);
    const coef = config.bodyPredicts === 'v' ? ts.map((ti) => alphaSigma(SCHEDULE, ti)) : undefined;

    let flags: boolean[] = ts.map(() => false);
    let source: LoraFeeds | undefined;
    if (lora !== undefined && loraIn !== undefined) {
      const run = pinLora(loraIn);
      source = run.adapter as LoraFeeds;
      if (source.scale !== lora.alpha / lora.rank) throw new Error(`onnx unet: LoRA feeds of scale ${source.scale} for an engine of scale ${lora.alpha / lora.rank}`);
      const on = run.on ?? true;
      flags = typeof on === 'boolean' ? ts.map(() => on) : [...on];
      if (flags.length !== batch) throw new Error(`onnx unet: ${flags.length} LoRA flags for a batch of ${batch}`);
    } else if (loraIn !== undefined) {
      throw new Error('onnx unet: an adapter was given to an engine created without a LoRA shape');
    }

    // samples without the adapter run through the base graph, the others through the LoRA graph: a LoRA delta
    // multiplied by 0 would cost as much as one that counts (a mixed batch of 16 off + 8 on: 13 % less CPU split)
    const xRow = height * width * channels;
    const condRow = (cond.shape[1] as number) * config.condDim;
    const base = config.baseChannels;
    const outRow = height * width * config.outChannels;
    const rows = (data: Float32Array, row: number, idx: readonly number[]): Float32Array => {
      if (idx.length === batch) return data;
      const out = new Float32Array(idx.length * row);
      idx.forEach((b, i) => out.set(data.subarray(b * row, (b + 1) * row), i * row));
      return out;
    };
    const runGroup = async (idx: readonly number[], adapted: boolean): Promise<Float32Array> => {
      const n = idx.length;
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', rows(x.data, xRow, idx), [n, height, width, channels]),
        t_features: new ort.Tensor('float32', rows(features, base, idx), [n, base]),
        cond: new ort.Tensor('float32', rows(cond.data, condRow, idx), [n, cond.shape[1] as number, config.condDim]),
      };
      if (coef !== undefined) {
        feeds['sigma'] = new ort.Tensor('float32', Float32Array.from(idx, (b) => (coef[b] as { sigma: number }).sigma), [n, 1, 1, 1]);
        feeds['alpha'] = new ort.Tensor('float32', Float32Array.from(idx, (b) => (coef[b] as { alpha: number }).alpha), [n, 1, 1, 1]);
      }
      if (adapted && source !== undefined) Object.assign(feeds, source.feeds);
      const result = await (await sessionFor(height, width, adapted)).run(feeds);
      const out = result[ONNX_UNET_OUTPUT];
      if (out === undefined || !(out.data instanceof Float32Array)) throw new Error('onnx unet: the session returned no float32 eps');
      return out.data;
    };
    const onIdx = flags.flatMap((f, b) => (f ? [b] : []));
    const offIdx = flags.flatMap((f, b) => (f ? [] : [b]));
    if (onIdx.length === 0) return runGroup(offIdx, false);
    if (offIdx.length === 0) return runGroup(onIdx, true);
    const eps = new Float32Array(batch * outRow);
    for (const [idx, adapted] of [[offIdx, false], [onIdx, true]] as const) {
      const part = await runGroup(idx, adapted);
      idx.forEach((b, i) => eps.set(part.subarray(i * outRow, (i + 1) * outRow), b * outRow));
    }
    return eps;
  };

  return {
    config,
    loraWeights,
    runArrays,
    loraFeeds,
    run: async (x, t, cond, loraIn) => {
      // the adapter's state and weights as they are now (withLora restores `enabled` before an await returns)
      const pinned = lora === undefined || loraIn === undefined ? loraIn : pinLora(loraIn);
      const [xData, condData] = await Promise.all([x.data(), cond.data()]);
      const data = await runArrays({ data: xData as Float32Array, shape: x.shape }, t, { data: condData as Float32Array, shape: cond.shape }, pinned);
      return tf.tensor4d(data, [x.shape[0], x.shape[1], x.shape[2], config.outChannels]);
    },
    dispose: async () => {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map(async (s) => (await s).release()));
    },
  };
};

/** the engine as a sampler's model function (unetDenoiser's asynchronous twin), with an adapter if given */
export const onnxUNetDenoiser = (engine: OnnxUNet, lora?: LoraAdapter | LoraRun): AsyncDenoiserFn<tf.Tensor> => (xt, t, cond) =>
  engine.run(xt as tf.Tensor4D, t, cond as tf.Tensor3D, lora);
