// where the kernel calls of one VSD step come from: every kernel of the wasm backend is wrapped and each call is
// attributed to (kernel, the tfjs engine function that issued it, the first vsdlab frame on the stack). The step
// is the embedded study's (vsd-step bench settings, the score gradient's teacher passes on ONNX Runtime).
// run: npm run build && node dist/bench/tensor/kernel-census.js [--steps 3 --top 60 --batch 16 --no-count --cpu-prof file
//   --ab rounds (before/after CPU per step of this tree's data-movement changes, alternating in one process)]
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { disposeParams, initUNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { distill, type DistillModels, type DistillSettings } from '../../src/distill/trainer.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { registerFastKernels, selectBackend, unregisterFastKernels } from '../../src/tensor/index.js';
import { installDirectSaves, uninstallDirectSaves } from '../../src/tensor/zero-copy.js';
import { benchStepSettings } from '../distill/bench-step-settings.js';

const { values: opts } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    top: { type: 'string', default: '60' },
    // run the steps without the counting wrappers (for node --cpu-prof)
    'no-count': { type: 'boolean', default: false },
    // a V8 CPU profile of the counted steps (2..n), written to this file (open in Chrome DevTools)
    'cpu-prof': { type: 'string' },
    // N alternating rounds of runs without and with this tree's copy kernels and direct saves (CPU s per step)
    ab: { type: 'string' },
    batch: { type: 'string', default: '16' },
  },
});
const steps = Number(opts.steps);
const batch = Number(opts.batch);

// the vsd-step bench's model and settings (bench/distill/vsd-step.ts, --patch 2)
const config: UNetConfig = { inChannels: 3, outChannels: 3, baseChannels: 16, channelMults: [1, 2, 2], resBlocksPerLevel: 1, attentionLevels: [false, false, true], heads: 4, condDim: 64, groups: 8, patchSize: 2, zeroInit: false };
const settings: DistillSettings = benchStepSettings(steps, batch);
const TEXT_LEN = 24;
// + 1: tf.randomNormal takes seed 0 (the empty caption's) for no seed, a different null text every run
const encodeText = (captions: readonly string[]): tf.Tensor3D =>
  tf.tidy(() => tf.concat(captions.map((c, i) => tf.randomNormal([1, TEXT_LEN, config.condDim], 0, 1, 'float32', c.length * 131 + i + 1))) as tf.Tensor3D);

const ENGINE_FRAMES = ['saveTensorsForBackwardMode', 'backpropagateGradients', 'gradients', 'customGrad', 'makeVariable', 'readSync'];

/** "engine-fn | vsdlab-frame" for the current stack */
const origin = (): string => {
  const lines = (new Error().stack ?? '').split('\n').slice(3);
  const engine = ENGINE_FRAMES.find((f) => lines.some((l) => l.includes(`.${f} `) || l.includes(` ${f} `)));
  const own = lines.find((l) => l.includes('/dist/src/') && !l.includes('/dist/src/tensor/'));
  const frame = own === undefined ? '?' : own.trim().replace(/^at /, '').replace(/\(?file:\/\/.*\/dist\/src\//, '').replace(/\)$/, '');
  return `${engine ?? 'op'} | ${frame}`;
};

const main = async (): Promise<void> => {
  const info = await selectBackend('wasm');
  Error.stackTraceLimit = 60;
  const teacher = initUNet(config, 0);
  const engine = onnxUNetEngine(teacher, { provider: 'cpu', lora: { rank: 8, alpha: 8, targets: ['to_q', 'to_v'] } });
  const counts = new Map<string, number>();
  const byKernel = new Map<string, number>();
  let recording = false;
  // calls made by a kernel through the registry (the routed kernels) pay no engine overhead: counted apart
  let depth = 0;
  const originals = opts['no-count'] || opts.ab !== undefined ? [] : tf.getKernelsForBackend(info.tfjsBackend);
  type Raw = (args: unknown) => unknown;
  for (const config of originals) {
    const inner = config.kernelFunc as unknown as Raw;
    const counted: Raw = (args) => {
      if (recording) {
        // tfjs's runKernel calls a kernel from its kernelFunc closure in tf-core; other callers skip the engine
        const viaEngine = (new Error().stack ?? '').split('\n')[2]?.includes('tfjs-core') === true;
        const name = depth > 0 ? `(in kernel) ${config.kernelName}` : viaEngine ? config.kernelName : `(no engine) ${config.kernelName}`;
        const key = `${name} ← ${origin()}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        byKernel.set(name, (byKernel.get(name) ?? 0) + 1);
      }
      depth++;
      try {
        return inner(args);
      } finally {
        depth--;
      }
    };
    tf.unregisterKernel(config.kernelName, info.tfjsBackend);
    tf.registerKernel({ ...config, kernelFunc: counted as unknown as tf.KernelConfig['kernelFunc'] });
  }
  const session = opts['cpu-prof'] === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
  }
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
  /** one distill() run of `steps` steps; CPU s of steps 2..n */
  const run = async (onStep: (done: number) => Promise<void> | void = () => undefined): Promise<number[]> => {
    const cpu: number[] = [];
    let last = 0;
    const dir = mkdtempSync(join(tmpdir(), 'kernel-census-'));
    try {
      const result = await distill(models, settings, (step, n) => Array.from({ length: n }, (_, i) => `caption ${step} ${i}`), dir, {
        progress: (done) => {
          const now = process.cpuUsage();
          if (done >= 2) cpu.push((now.user + now.system - last) / 1e6);
          void onStep(done);
          last = process.cpuUsage().user + process.cpuUsage().system;
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
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  if (opts.ab !== undefined) {
    // before: wasm's own Concat and SplitV and tfjs's Engine.clone; after: this tree's. Alternating runs, one process
    unregisterFastKernels('wasm');
    const before = [tf.getKernel(tf.Concat, 'wasm'), tf.getKernel(tf.SplitV, 'wasm')] as tf.KernelConfig[];
    registerFastKernels('wasm');
    const after = [tf.getKernel(tf.Concat, 'wasm'), tf.getKernel(tf.SplitV, 'wasm')] as tf.KernelConfig[];
    const use = (configs: tf.KernelConfig[], direct: boolean): void => {
      for (const c of configs) {
        tf.unregisterKernel(c.kernelName, 'wasm');
        tf.registerKernel(c);
      }
      if (direct) installDirectSaves(tf);
      else uninstallDirectSaves(tf);
    };
    // the side switches step by step, and each round runs twice with the sides swapped, so that every step index
    // (its timesteps, prompts, null-text draw) is measured on both sides within seconds of each other
    const sideOf = (step: number, r: number, pass: number): 'before' | 'after' => ((step + r + pass) % 2 === 0 ? 'after' : 'before');
    const ratios: number[] = [];
    const totals = { before: 0, after: 0 };
    await run(); // warm-up
    for (let r = 0; r < Number(opts.ab); r++) {
      const sums = { before: 0, after: 0 };
      for (let pass = 0; pass < 2; pass++) {
        use(sideOf(1, r, pass) === 'before' ? before : after, sideOf(1, r, pass) === 'after');
        const cpu = await run((done) => {
          const next = sideOf(done + 1, r, pass);
          use(next === 'before' ? before : after, next === 'after');
        });
        // cpu[i] is step i + 2
        cpu.forEach((c, i) => (sums[sideOf(i + 2, r, pass)] += c));
      }
      ratios.push(sums.before / sums.after);
      totals.before += sums.before;
      totals.after += sums.after;
      console.log(`round ${r + 1}: CPU s, steps 2..${steps} once on each side: before ${sums.before.toFixed(3)}, after ${sums.after.toFixed(3)} (${(sums.before / sums.after).toFixed(3)})`);
    }
    const n = Number(opts.ab) * (steps - 1);
    console.log(`CPU s per step: before ${(totals.before / n).toFixed(3)}, after ${(totals.after / n).toFixed(3)}; before/after ${(totals.before / totals.after).toFixed(3)} overall, per round median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`);
    engine.dispose();
    return;
  }
  let cpu: number[] = [];
  try {
    cpu = await run(async (done) => {
      recording = done >= 1 && done < steps;
      if (session !== undefined && done === 1) await session.post('Profiler.start');
      if (session !== undefined && done === steps) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(opts['cpu-prof'] as string, JSON.stringify(profile));
      }
    });
  } finally {
    engine.dispose();
  }
  const per = steps - 1;
  let total = 0;
  for (const n of byKernel.values()) total += n;
  let nested = 0;
  let direct = 0;
  for (const [k, n] of byKernel) {
    if (k.startsWith('(in kernel)')) nested += n;
    if (k.startsWith('(no engine)')) direct += n;
  }
  console.log(`kernel calls per step (steps 2..${steps}): ${Math.round(total / per)}, of them ${Math.round(nested / per)} made inside other kernels and ${Math.round(direct / per)} outside the engine's runKernel; through runKernel: ${Math.round((total - nested - direct) / per)}`);
  console.log(`CPU s per step (steps 2..${steps}): ${cpu.map((c) => c.toFixed(3)).join(' ')}; median ${median(cpu).toFixed(3)}`);
  console.log([...byKernel].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${Math.round(n / per)}`).join(', '));
  console.log(`by origin (kernel ← engine function | first vsdlab frame outside src/tensor), top ${opts.top}:`);
  for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))) console.log(`${String(Math.round(n / per)).padStart(6)}  ${k}`);
};

await main();
