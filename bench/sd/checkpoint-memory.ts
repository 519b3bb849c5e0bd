// Gradient checkpointing and sliced attention vs the plain backward (issue 16): one forward + backward of the SD UNet
// w.r.t. every weight (the student's step), on the tiny diffusers config (8×8 latents) and a mid-size one (block_out
// [64, 128, 256], heads [2, 4, 8], D = 64, 32×32 latents; bench/sd/unet_torch.py's MID), batch 2, wasm backend.
// Each (config, mode) runs in its own process, so each peak RSS is its own. Per mode: median step time, the tape's
// saved bytes and the backend's buffer peak (the engine's accounting), the memory model's predictions
// (models/sd/unet-tape.ts), and the process's peak RSS.
// run: npm run build && node dist/bench/sd/checkpoint-memory.js [--reps 3] [--config tiny|mid|both]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { tapeSavedBytes } from '../../src/tensor/tape.js';
import { measureBufferPeak } from '../../src/tensor/buffer-peak.js';
import { parseUNetConfig, type UNetConfig } from '../../src/models/sd/unet-config.js';
import { sdUNetForward, type UNetForwardOptions } from '../../src/models/sd/unet.js';
import { unetTapeBytes } from '../../src/models/sd/unet-tape.js';
import { unetWeightShapes } from '../../src/models/sd/memory-budget.js';
import { WeightReader, type ParamMap } from '../../src/nn/params.js';

const argOf = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

const MID = {
  sample_size: 32,
  block_out_channels: [64, 128, 256],
  layers_per_block: 2,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  attention_head_dim: [2, 4, 8],
  cross_attention_dim: 64,
  norm_num_groups: 32,
  use_linear_projection: true,
};

const configOf = (name: string): UNetConfig => {
  if (name === 'mid') return parseUNetConfig('mid', MID).config;
  const path = 'test/fixtures/sd/tiny-sd2/unet/config.json';
  return parseUNetConfig(path, JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>).config;
};

const MODES: Record<string, UNetForwardOptions> = {
  plain: {},
  checkpoint: { checkpoint: true },
  'checkpoint + slice 1': { checkpoint: true, attentionSlice: 1 },
};
const BATCH = 2;
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;

interface Result {
  config: string;
  mode: string;
  latent: number;
  msPerStep: number;
  tape: number;
  bufferPeak: number;
  modelTape: number;
  modelPeak: number;
  maxRssMiB: number;
}

async function child(configName: string, mode: string, reps: number): Promise<Result> {
  await selectBackend('wasm');
  const config = configOf(configName);
  const options = MODES[mode] as UNetForwardOptions;
  const latent = config.sample_size ?? 8;
  const params: ParamMap = {};
  let seed = 1;
  for (const [name, shape] of unetWeightShapes(config)) {
    const fanIn = shape.length <= 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    params[name] = tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, shape.length <= 1 ? 0.1 : 1 / Math.sqrt(fanIn), 'float32', seed++), true));
  }
  const weights = new WeightReader(params);
  const vars = Object.values(params);
  const ids = new Set(vars.map((v) => v.dataId));
  const d = config.cross_attention_dim as number;
  const sample = tf.randomNormal([BATCH, latent, latent, config.in_channels], 0, 1, 'float32', 7) as tf.Tensor4D;
  const context = tf.randomNormal([BATCH, 77, d], 0, 1, 'float32', 8) as tf.Tensor3D;
  const r = tf.randomNormal([BATCH, latent, latent, config.out_channels], 0, 1, 'float32', 9);
  let tape = 0;
  const step = (): void => {
    const { grads } = tf.variableGrads(() => {
      const eps = sdUNetForward({ weights }, config, sample, [999, 500], context, options);
      tape = tapeSavedBytes(ids);
      return tf.sum(tf.mul(eps, r)) as tf.Scalar;
    }, vars);
    // reading one gradient waits for the whole backward
    (Object.values(grads)[0] as tf.Tensor).dataSync();
    tf.dispose(Object.values(grads));
  };
  step(); // warm-up: kernels, and the weights each checkpointed segment reads
  const { peak } = measureBufferPeak(step);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const model = unetTapeBytes(config, { batch: BATCH, height: latent, width: latent, tokens: 77, options });
  const weightBytes = vars.reduce((s, v) => s + v.size * 4, 0);
  return {
    config: configName,
    mode,
    latent,
    msPerStep: median(times),
    tape,
    bufferPeak: peak,
    modelTape: model.saved,
    modelPeak: model.saved + model.gradients + model.segmentPeak + weightBytes,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const reps = Number(argOf('reps', '3'));
  if (process.argv.includes('--child')) {
    console.log(JSON.stringify(await child(argOf('config', 'tiny'), argOf('mode', 'plain'), reps)));
    return;
  }
  const which = argOf('config', 'both');
  const configs = which === 'both' ? ['tiny', 'mid'] : [which];
  const self = fileURLToPath(import.meta.url);
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  console.log('| config | mode | ms / step | time vs plain | tape (MiB) | buffer peak (MiB) | model: tape, peak (MiB) | peak vs plain | process peak RSS (MiB) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const config of configs) {
    let plain: Result | undefined;
    for (const mode of Object.keys(MODES)) {
      const out = spawnSync(process.execPath, [self, '--child', '--config', config, '--mode', mode, '--reps', String(reps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (out.status !== 0) throw new Error(`${config} ${mode} failed:\n${out.stderr}`);
      const r = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Result;
      plain ??= r;
      console.log(
        `| ${config} (${r.latent}×${r.latent}, batch ${BATCH}) | ${mode} | ${r.msPerStep.toFixed(0)} | ${(r.msPerStep / plain.msPerStep).toFixed(2)} | ${mib(r.tape)} | ${mib(r.bufferPeak)} | ${r.modelTape === r.tape ? 'exact' : mib(r.modelTape)}, ${mib(r.modelPeak)} (${(r.modelPeak / r.bufferPeak).toFixed(2)}×) | ${(r.bufferPeak / plain.bufferPeak).toFixed(3)} | ${r.maxRssMiB.toFixed(0)} |`,
      );
    }
  }
}

await main();
