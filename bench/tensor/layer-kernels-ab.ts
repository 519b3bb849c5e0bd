// the layer kernels (src/tensor/linear-kernel.ts, conv-bias-kernel.ts, attention-kernel.ts) before/after on the kernel census's VSD
// step (the vsd-step bench's model and settings, --patch 2, teacher passes on ONNX Runtime): engine dispatches
// (runKernel calls) and tape nodes per step, and CPU s per step with the side switching step by step, each round
// run twice with the sides swapped, in one process (the machine is shared: ratios, not absolute seconds).
// --study: the embedded ablation's own step instead (the committed teacher's architecture, batch 8, LoRA rank 16 on
// q, k, v, out and the ResBlock convs: those convs keep the op pair), as vsd-step --study.
// --kernels: which kernels the sides differ in: all (the op chains before), linear-conv, or attention (the others
// on in both sides).
// run: npm run build && node dist/bench/tensor/layer-kernels-ab.js [--rounds 3 --steps 5 --batch 16 | --study] [--kernels all|linear-conv|attention]
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { disposeParams, initUNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { distill, type DistillModels } from '../../src/distill/trainer.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { selectBackend } from '../../src/tensor/index.js';
import { registerLinearKernels, unregisterLinearKernels } from '../../src/tensor/linear-kernel.js';
import { registerConvBiasKernel, unregisterConvBiasKernel } from '../../src/tensor/conv-bias-kernel.js';
import { registerAttentionKernel, unregisterAttentionKernel } from '../../src/tensor/attention-kernel.js';
import { benchStepSettings, studyStepSettings } from '../distill/bench-step-settings.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '16' },
    study: { type: 'boolean', default: false },
    kernels: { type: 'string', default: 'all' },
  },
});
if (!['all', 'linear-conv', 'attention'].includes(opts.kernels)) throw new Error('--kernels must be all, linear-conv or attention');
const steps = Number(opts.steps);

// kernel-census.ts's model, or (--study) the committed teacher's
const benchConfig: UNetConfig = { inChannels: 3, outChannels: 3, baseChannels: 16, channelMults: [1, 2, 2], resBlocksPerLevel: 1, attentionLevels: [false, false, true], heads: 4, condDim: 64, groups: 8, patchSize: 2, zeroInit: false };
const config: UNetConfig = opts.study ? { ...(JSON.parse(readFileSync('models/embedded/teacher/teacher.json', 'utf8')) as { unet: UNetConfig }).unet, zeroInit: false } : benchConfig;
const settings = opts.study ? studyStepSettings(steps) : benchStepSettings(steps, Number(opts.batch));
const TEXT_LEN = 24;
// + 1: tf.randomNormal takes seed 0 (the empty caption's) for no seed, a different null text every run
const encodeText = (captions: readonly string[]): tf.Tensor3D =>
  tf.tidy(() => tf.concat(captions.map((c, i) => tf.randomNormal([1, TEXT_LEN, config.condDim], 0, 1, 'float32', c.length * 131 + i + 1))) as tf.Tensor3D);

type Side = 'before' | 'after';
const use = (side: Side): void => {
  const linearConv = side === 'after' || opts.kernels === 'attention';
  const attention = side === 'after' || opts.kernels === 'linear-conv';
  if (linearConv) {
    registerLinearKernels('wasm');
    registerConvBiasKernel('wasm');
  } else {
    unregisterLinearKernels('wasm');
    unregisterConvBiasKernel('wasm');
  }
  if (attention) registerAttentionKernel('wasm');
  else unregisterAttentionKernel('wasm');
};

await selectBackend('wasm');
const teacher = initUNet(config, 0);
const engine = onnxUNetEngine(teacher, { provider: 'cpu', lora: { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets } });
const models: DistillModels = {
  teacherPasses: { forward: (x, t, cond, lora) => engine.forward(x, t, cond, lora) },
  schedule: scaledLinearSchedule(),
  net: embeddedDistillNet(config),
  teacher: teacher.params,
  initRandom: (seed) => initUNet(config, 100 + seed).params,
  encodeText,
  nullText: encodeText(['']),
  imageShape: [32, 32, 3],
};

// engine dispatches and tape nodes (runKernel calls while a gradient is recorded), by the side that made them
const eng = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown; isTapeOn(): boolean };
const runKernel = eng.runKernel;
let side: Side = 'before';
const dispatches = { before: 0, after: 0 };
const tapeNodes = { before: 0, after: 0 };
eng.runKernel = function (this: typeof eng, name: string, ...rest: unknown[]) {
  dispatches[side]++;
  if (this.isTapeOn()) tapeNodes[side]++;
  return runKernel.call(this, name, ...rest);
};

/** one distill() run; onStep(done) before step done + 1; CPU s of steps 2..n */
const run = async (onStep: (done: number) => void): Promise<number[]> => {
  const cpu: number[] = [];
  let last = 0;
  const dir = mkdtempSync(join(tmpdir(), 'layer-kernels-ab-'));
  try {
    onStep(0);
    const result = await distill(models, settings, (step, n) => Array.from({ length: n }, (_, i) => `caption ${step} ${i}`), dir, {
      progress: (done) => {
        const now = process.cpuUsage();
        if (done >= 2) cpu.push((now.user + now.system - last) / 1e6);
        onStep(done);
        const t = process.cpuUsage();
        last = t.user + t.system;
      },
    });
    disposeParams(result.student);
    disposeParams(result.ema);
    if (result.lora) disposeParams(result.lora.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cpu;
};

const sideOf = (step: number, r: number, pass: number): Side => ((step + r + pass) % 2 === 0 ? 'after' : 'before');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
await run(() => use('after')); // warm-up
dispatches.before = dispatches.after = tapeNodes.before = tapeNodes.after = 0;
const totals = { before: 0, after: 0 };
const counted = { before: 0, after: 0 };
const ratios: number[] = [];
for (let r = 0; r < Number(opts.rounds); r++) {
  const sums = { before: 0, after: 0 };
  for (let pass = 0; pass < 2; pass++) {
    const cpu = await run((done) => {
      // step 1 (index done 0) is attributed too; its CPU is not measured
      side = sideOf(done + 1, r, pass);
      use(side);
      if (done < steps) counted[side]++;
    });
    cpu.forEach((c, i) => (sums[sideOf(i + 2, r, pass)] += c));
  }
  ratios.push(sums.before / sums.after);
  totals.before += sums.before;
  totals.after += sums.after;
  console.log(`round ${r + 1}: CPU s, steps 2..${steps} once on each side: before ${sums.before.toFixed(3)}, after ${sums.after.toFixed(3)} (${(sums.before / sums.after).toFixed(3)})`);
}
const n = Number(opts.rounds) * (steps - 1);
console.log(`engine dispatches per step: before ${Math.round(dispatches.before / counted.before)}, after ${Math.round(dispatches.after / counted.after)}; tape nodes per step: before ${Math.round(tapeNodes.before / counted.before)}, after ${Math.round(tapeNodes.after / counted.after)}`);
console.log(`CPU s per step: before ${(totals.before / n).toFixed(3)}, after ${(totals.after / n).toFixed(3)}; before/after ${(totals.before / totals.after).toFixed(3)} overall, per round median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`);
engine.dispose();
