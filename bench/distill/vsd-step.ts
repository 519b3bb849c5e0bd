// throughput of one whole SwiftBrush VSD step (student fwd+bwd, frozen + LoRA teacher CFG passes on 2B, LoRA
// fwd+bwd, Adam on both, clipping, EMA) as vsdlab's distill() runs it on the tfjs wasm backend, next to the same
// network and step in PyTorch CPU (one thread, tools/bench/torch_vsd_step.py) spawned from here, the two sides
// interleaved round by round. times are process CPU seconds: the 2-core machine is shared.
// With --teacher-engine onnx the two teacher passes inside the score gradient run on ONNX Runtime (one thread), as
// the embedded study runs them (distill.teacher_engine: onnx); the FLOPs are still counted from tfjs's profile of
// the same step (the math is the same), and the CPU time spent inside those passes is reported apart.
// run: npm run build && node dist/bench/distill/vsd-step.js [--rounds 4 --steps 5 --batch 16 --size 32 --base 16 --patch 1 --no-torch --no-phases --baseline --optimizer fused|ops|both --teacher-engine tfjs|onnx|both]
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { initLora } from '../../src/nn/lora.js';
import { disposeParams, initUNet, parameterCount, unetForward, type UNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import { distill, type DistillModels, type DistillSettings } from '../../src/distill/trainer.js';
import { embeddedDistillNet, type TeacherPasses } from '../../src/distill/net.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { Adam } from '../../src/distill/adam.js';
import { gradientNorm, optimizerStep, setOptimizerPath, type OptimizerPath } from '../../src/distill/optimizer-step.js';
import { registerFastKernels, selectBackend, unregisterFastKernels, unregisterFusedKernels } from '../../src/tensor/index.js';
import { withOpChains } from '../../src/tensor/layer-kernels.js';
import { saveSafetensors } from '../../src/weights/safetensors.js';
import { formatKernelCpu, recordKernelCpu, type KernelCpu } from '../tensor/kernel-cpu.js';
import { benchStepSettings, studyStepSettings } from './bench-step-settings.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const PYTHON = '/usr/bin/python3';
const PEER = join(repoRoot, 'tools', 'bench', 'torch_vsd_step.py');

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    steps: { type: 'string', default: '5' },
    batch: { type: 'string', default: '16' },
    size: { type: 'string', default: '32' },
    base: { type: 'string', default: '16' },
    patch: { type: 'string', default: '1' },
    'forward-reps': { type: 'string', default: '3' },
    'no-torch': { type: 'boolean', default: false },
    'no-phases': { type: 'boolean', default: false },
    // the step as before the fused element-wise ops: tfjs compositions, copying Identity/Cast
    baseline: { type: 'boolean', default: false },
    // clipping + Adam + EMA as one JS pass per tensor (fused), as tfjs op sequences (ops), or both, alternating
    // run by run in each round (before/after of the fused optimiser from one process)
    optimizer: { type: 'string', default: 'fused' },
    // where the score gradient's two teacher passes run: tfjs (wasm), onnx (ONNX Runtime, one thread), or both,
    // alternating run by run in each round
    'teacher-engine': { type: 'string', default: 'tfjs' },
    // the embedded study's own step: the committed teacher's architecture (models/embedded/teacher/teacher.json,
    // random weights) and experiments/embedded-ablation.yaml's distill settings (batch 8, LoRA rank 16 on q, k, v,
    // out and the ResBlock convs, LoRA guidance 1, LoRA lr 1e-2); --batch/--base/--patch are then ignored
    study: { type: 'boolean', default: false },
  },
});
if (!['tfjs', 'onnx', 'both'].includes(opts['teacher-engine'])) throw new Error('--teacher-engine must be tfjs, onnx or both');
if (!['fused', 'ops', 'both'].includes(opts.optimizer)) throw new Error('--optimizer must be fused, ops or both');
const rounds = Number(opts.rounds);
const stepsPerRound = Number(opts.steps);
const batch = opts.study ? 8 : Number(opts.batch);
const size = Number(opts.size);
const forwardReps = Number(opts['forward-reps']);
if (stepsPerRound < 2) throw new Error('--steps must be at least 2 (the first step of each round is a warm-up)');

// the embedded teacher's architecture (experiments/recipes/embedded-teacher.yaml), random weights everywhere
// (zeroInit off, so no branch starts at exactly zero; the speed does not depend on it)
const benchConfig: UNetConfig = {
  inChannels: 3,
  outChannels: 3,
  baseChannels: Number(opts.base),
  channelMults: [1, 2, 2],
  resBlocksPerLevel: 1,
  attentionLevels: [false, false, true],
  heads: 4,
  condDim: 64,
  groups: 8,
  ...(Number(opts.patch) > 1 ? { patchSize: Number(opts.patch) } : {}),
  zeroInit: false,
};
const studyConfig = (): UNetConfig => {
  const teacherJson = JSON.parse(readFileSync(join(repoRoot, 'models', 'embedded', 'teacher', 'teacher.json'), 'utf8')) as { unet: UNetConfig };
  return { ...teacherJson.unet, zeroInit: false };
};
const config: UNetConfig = opts.study ? studyConfig() : benchConfig;
const TEXT_LEN = 24; // the embedded text encoder's length (width = condDim)

// the embedded ablation's distill settings (experiments/embedded-ablation.yaml); with --study its LoRA settings too
const settings: DistillSettings = opts.study ? studyStepSettings(stepsPerRound) : benchStepSettings(stepsPerRound, batch);

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

// ------------------------------------------------------------------------------------------- FLOP counting

interface KernelRecord {
  name: string;
  inputShapes: (number[] | null)[];
  outputShapes: (number[] | null)[];
  kernelTimeMs: number | { error: string };
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const at = (s: readonly number[] | null | undefined, i: number): number => {
  const v = s?.[i < 0 ? s.length + i : i];
  if (v === undefined) throw new Error(`shape ${JSON.stringify(s)} has no axis ${i}`);
  return v;
};

/** 2·MACs of the matMul / conv kernels (the routed ones are recorded once: they call kernels, not ops) */
const kernelFlops = (k: KernelRecord): { family: string; flops: number } | undefined => {
  const [in0, in1] = k.inputShapes;
  const out = k.outputShapes[0];
  if (!in0 || !in1 || !out) return undefined;
  switch (k.name) {
    case 'Conv2D':
    case 'FusedConv2D': // x, filter [kh, kw, ci, co] → y
      return { family: 'conv forward', flops: 2 * prod(out) * at(in1, 0) * at(in1, 1) * at(in1, 2) };
    case 'Conv2DBackpropInput': // dy, filter → dx
      return { family: 'conv input grad', flops: 2 * prod(in0) * at(in1, 0) * at(in1, 1) * at(in1, 2) };
    case 'Conv2DBackpropFilter': // x, dy → dfilter [kh, kw, ci, co]
      return { family: 'conv filter grad', flops: 2 * prod(in1) * at(out, 0) * at(out, 1) * at(out, 2) };
    case 'BatchMatMul':
    case '_FusedMatMul':
    case 'MatMul': {
      // out [..., m, n]; a is [..., m, k] or (transposed) [..., k, m]: if a's rows are m the inner dim is its last
      const k2 = at(in0, -2) === at(out, -2) ? at(in0, -1) : at(in0, -2);
      return { family: 'matMul', flops: 2 * prod(out) * k2 };
    }
    default:
      return undefined;
  }
};

interface FlopCount {
  total: number;
  byFamily: Map<string, { flops: number; ms: number; calls: number }>;
  /** wall ms in every kernel, by kernel name (profiled run; only shares are meaningful on a loaded machine) */
  msByKernel: Map<string, number>;
  kernelMs: number;
}

const countFlops = (kernels: KernelRecord[]): FlopCount => {
  const byFamily = new Map<string, { flops: number; ms: number; calls: number }>();
  const msByKernel = new Map<string, number>();
  let total = 0;
  let kernelMs = 0;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    kernelMs += ms;
    msByKernel.set(k.name, (msByKernel.get(k.name) ?? 0) + ms);
    const f = kernelFlops(k);
    if (f === undefined) continue;
    total += f.flops;
    const e = byFamily.get(f.family) ?? { flops: 0, ms: 0, calls: 0 };
    e.flops += f.flops;
    e.ms += ms;
    e.calls += 1;
    byFamily.set(f.family, e);
  }
  return { total, byFamily, msByKernel, kernelMs };
};

// ------------------------------------------------------------------------------------------- models

/** a fixed random "text encoder": each caption's embedding is seeded by a hash of the caption */
const captionSeed = (caption: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < caption.length; i++) h = Math.imul(h ^ caption.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
};
const encodeText = (captions: readonly string[]): tf.Tensor3D =>
  tf.tidy(() => tf.concat(captions.map((c) => tf.randomNormal([1, TEXT_LEN, config.condDim], 0, 1, 'float32', captionSeed(c)))) as tf.Tensor3D);

const prompts = (step: number, n: number): string[] => Array.from({ length: n }, (_, i) => `a ${['red', 'blue', 'green'][(step + i) % 3]} shape number ${(step * 31 + i) % 97}`);

/** CPU seconds spent inside the ONNX teacher passes so far (the bench reads it per step) */
let passSeconds = 0;
/** the score gradient's teacher passes on ONNX Runtime, as distill-stage.ts opens them, timed call by call */
const onnxPasses = (teacher: UNet): TeacherPasses & { dispose(): void } => {
  const engine = onnxUNetEngine(teacher, { provider: 'cpu', lora: { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets } });
  return {
    forward: (x, t, cond, lora) => {
      const t0 = cpuSeconds();
      const out = engine.forward(x, t, cond, lora);
      passSeconds += cpuSeconds() - t0;
      return out;
    },
    dispose: () => engine.dispose(),
  };
};

const makeModels = (teacher: UNet, teacherPasses?: TeacherPasses): DistillModels => ({
  ...(teacherPasses ? { teacherPasses } : {}),
  schedule: scaledLinearSchedule(),
  net: embeddedDistillNet(config),
  teacher: teacher.params,
  initRandom: (seed) => initUNet(config, 100 + seed).params,
  encodeText,
  nullText: encodeText(['']),
  imageShape: [size, size, config.inChannels],
});

/** one distill() run of `steps` steps; CPU seconds of each step from the progress hook (the step's whole body) */
const runDistill = async (models: DistillModels, steps: number, onStep?: (done: number) => void): Promise<{ seconds: number[]; passSeconds: number[]; loss: number; lossLora: number }> => {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-bench-'));
  const seconds: number[] = [];
  const passes: number[] = [];
  let last = cpuSeconds();
  let lastPass = passSeconds;
  let loss = Number.NaN;
  let lossLora = Number.NaN;
  try {
    const result = await distill(models, { ...settings, steps, logEvery: steps }, prompts, dir, {
      progress: (done) => {
        const now = cpuSeconds();
        seconds.push(now - last);
        passes.push(passSeconds - lastPass);
        onStep?.(done);
        last = cpuSeconds();
        lastPass = passSeconds;
      },
      log: (r) => {
        loss = r.loss_vsd;
        lossLora = r.loss_lora ?? Number.NaN;
      },
    });
    disposeParams(result.student);
    disposeParams(result.ema);
    if (result.lora) disposeParams(result.lora.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { seconds, passSeconds: passes, loss, lossLora };
};

const forwardInputs = (n: number): { x: tf.Tensor4D; t: number[]; cond: tf.Tensor3D } => ({
  x: tf.randomNormal([n, size, size, config.inChannels], 0, 1, 'float32', 7) as tf.Tensor4D,
  t: Array.from({ length: n }, (_, i) => (i * 61) % 1000),
  cond: tf.randomNormal([n, TEXT_LEN, config.condDim], 0, 1, 'float32', 8) as tf.Tensor3D,
});

const timeForward = (teacher: UNet, reps: number): number[] => {
  const { x, t, cond } = forwardInputs(batch);
  unetForward(teacher, x, t, cond).dispose();
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = cpuSeconds();
    unetForward(teacher, x, t, cond).dispose();
    out.push(cpuSeconds() - t0);
  }
  tf.dispose([x, cond]);
  return out;
};

/** plain forward conv2d and matMul on this backend, best per-call CPU seconds (as bench/tensor/kernels.ts) */
const peaks = (): { label: string; flops: number; seconds: number }[] => {
  const best = (run: () => void, reps = 5): number => {
    run();
    let b = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = cpuSeconds();
      run();
      b = Math.min(b, cpuSeconds() - t0);
    }
    return b;
  };
  return tf.tidy(() => {
    const a = tf.randomNormal([1024, 1024]);
    const b = tf.randomNormal([1024, 1024]);
    const cases = [{ label: 'matMul 1024x1024x1024', flops: 2 * 1024 ** 3, seconds: best(() => tf.matMul(a, b).dispose()) }];
    const conv = (label: string, xs: [number, number, number, number], ci: number, co: number, stride: number): void => {
      const x = tf.randomNormal(xs) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, ci, co]) as tf.Tensor4D;
      const oh = Math.ceil(xs[1] / stride);
      const ow = Math.ceil(xs[2] / stride);
      cases.push({ label, flops: 2 * xs[0] * oh * ow * 9 * ci * co, seconds: best(() => tf.conv2d(x, w, stride, 'same').dispose()) });
    };
    conv('conv2d 3x3 x=8x32x32x64 → 64', [8, 32, 32, 64], 64, 64, 1);
    // the model's own conv shapes, for context
    const levels = config.channelMults.map((m) => m * config.baseChannels);
    levels.forEach((c, i) => {
      const side = size / 2 ** i;
      conv(`conv2d 3x3 x=${batch}x${side}x${side}x${c} → ${c} (model level ${i})`, [batch, side, side, c], c, c, 1);
    });
    return cases;
  });
};

interface Part {
  label: string;
  seconds: number;
  /** peak tensor bytes while it runs (tf.profile) */
  peakBytes: number;
  /** a part of the trainer's step (false: a variant shown for comparison) */
  inStep: boolean;
}

/**
 * the step's parts timed one by one outside the trainer (median CPU seconds of 3) with their peak tensor memory:
 * where the time and memory go. the trainer runs the teacher passes inside the student's gradient scope, shown
 * as a variant.
 */
const phases = async (teacher: UNet): Promise<Part[]> => {
  const student = initUNet(config, 1);
  const ema = initUNet(config, 2);
  const lora = initLora(teacher.params, { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets }, 0);
  const b1 = forwardInputs(batch);
  const b2 = forwardInputs(2 * batch);
  const part = async (label: string, inStep: boolean, run: () => void): Promise<Part> => {
    run();
    const seconds = median(
      [0, 1, 2].map(() => {
        const t0 = cpuSeconds();
        run();
        return cpuSeconds() - t0;
      }),
    );
    // a part that runs no kernel (the fused optimiser) has no peak in tf.profile's accounting (-Infinity)
    const peakBytes = Math.max(0, (await tf.profile(run)).peakBytes);
    return { label, seconds, peakBytes, inStep };
  };
  const fwdBwd = (net: UNet, vars: tf.Variable[], l?: typeof lora, inside?: () => void): void => {
    const { value, grads } = tf.variableGrads(() => {
      const loss = tf.mean(tf.square(unetForward(net, b1.x, b1.t, b1.cond, l))) as tf.Scalar;
      inside?.();
      return loss;
    }, vars);
    value.dispose();
    tf.dispose(Object.values(grads));
  };
  const teacherPass = (l?: typeof lora) => (): void => unetForward(teacher, b2.x, b2.t, b2.cond, l).dispose();
  const adam = new Adam(settings.studentLr);
  const grads = tf.tidy(() => Object.fromEntries(Object.entries(student.params).map(([k, v]) => [k, tf.keep(tf.randomNormal(v.shape, 0, 1e-3))])));
  const out: Part[] = [];
  out.push(await part(`student forward + backward (B=${batch})`, true, () => fwdBwd(student, Object.values(student.params))));
  out.push(await part(`frozen teacher, CFG (2B=${2 * batch}, forward)`, true, teacherPass()));
  out.push(await part(`LoRA teacher, CFG (2B=${2 * batch}, forward)`, true, teacherPass(lora)));
  out.push(await part(`LoRA teacher forward + backward to the adapter (B=${batch})`, true, () => fwdBwd(teacher, Object.values(lora.params), lora)));
  const optimizer = (path: OptimizerPath) => (): void => {
    const previous = setOptimizerPath(path);
    optimizerStep({ adam, params: student.params, grads, norm: gradientNorm(grads), maxNorm: 1e9, ema: { params: ema.params, decay: settings.emaDecay } });
    setOptimizerPath(previous);
  };
  const mainPath: OptimizerPath = opts.optimizer === 'ops' ? 'ops' : 'fused';
  out.push(await part(`clip + Adam + EMA (student, ${mainPath === 'fused' ? 'fused pass, WebAssembly on the heap' : 'tfjs op sequences'})`, true, optimizer(mainPath)));
  if (opts.optimizer === 'both') out.push(await part('variant: clip + Adam + EMA (student) as tfjs op sequences', false, optimizer('ops')));
  out.push(
    await part('variant: student forward + backward with both teacher CFG passes inside its gradient scope, as the trainer', false, () =>
      fwdBwd(student, Object.values(student.params), undefined, () => {
        teacherPass()();
        teacherPass(lora)();
      }),
    ),
  );
  adam.dispose();
  tf.dispose([...Object.values(grads), b1.x, b1.cond, b2.x, b2.cond]);
  [student.params, ema.params, lora.params].forEach(disposeParams);
  return out;
};

// ------------------------------------------------------------------------------------------- PyTorch peer

interface TorchPeer {
  hello: Record<string, unknown>;
  ask(command: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

const startTorch = async (): Promise<TorchPeer | undefined> => {
  const child = spawn(PYTHON, [PEER, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const failed = new Promise<undefined>((res) => child.on('error', () => res(undefined)));
  const iterator = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await iterator.next();
    if (done === true) throw new Error('pytorch peer exited');
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const hello = await Promise.race([next().catch(() => undefined), failed]);
  if (hello === undefined) return undefined;
  return {
    hello,
    ask: async (command) => {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const answer = await next();
      if (typeof answer['error'] === 'string') throw new Error(`pytorch peer: ${answer['error']}`);
      return answer;
    },
    close: () => child.stdin.end(),
  };
};

/** the teacher's weights, a LoRA adapter with non-zero B, and forward outputs (LoRA on and off) for the peer to check */
const writeCheckFile = (teacher: UNet, path: string): Promise<void> => {
  const lora = initLora(teacher.params, { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets }, 5);
  for (const [name, v] of Object.entries(lora.params)) if (name.endsWith('.lora_b')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 11));
  const { x, t, cond } = forwardInputs(2);
  const tensors: Record<string, tf.Tensor> = { ...teacher.params, ...lora.params };
  tensors['check/x'] = x;
  tensors['check/t'] = tf.tensor1d(t, 'int32');
  tensors['check/cond'] = cond;
  tensors['check/out_lora_on'] = unetForward(teacher, x, t, cond, lora);
  tensors['check/out_lora_off'] = unetForward(teacher, x, t, cond);
  return saveSafetensors(path, tensors).finally(() => {
    tf.dispose([x, cond, tensors['check/t'] as tf.Tensor, tensors['check/out_lora_on'] as tf.Tensor, tensors['check/out_lora_off'] as tf.Tensor]);
    disposeParams(lora.params);
  });
};

// ------------------------------------------------------------------------------------------- main

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number, d = 3): string => x.toFixed(d);

const main = async (): Promise<void> => {
  const info = await selectBackend('wasm');
  if (opts.optimizer === 'ops') setOptimizerPath('ops');
  if (opts.baseline) {
    unregisterFusedKernels('wasm');
    unregisterFastKernels('wasm');
    info.details['fastKernels'] = registerFastKernels('wasm', { shareSavedTensors: false });
  }
  const teacher = initUNet(config, 0);
  // tfjs passes for the FLOP count (tf.profile sees only tfjs kernels); the timed runs use the chosen engine
  const models = makeModels(teacher);
  const teacherEngine = opts['teacher-engine'];
  const passes = teacherEngine === 'tfjs' ? undefined : onnxPasses(teacher);
  const timedModels = passes ? makeModels(teacher, passes) : models;
  const params = parameterCount(teacher.params);
  const loraParams = (() => {
    const l = initLora(teacher.params, { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets }, 0);
    const n = parameterCount(l.params);
    disposeParams(l.params);
    return n;
  })();

  // a warm-up run first, so that the profiles describe a warm step
  await runDistill(models, 1);
  // peak tensor memory of the step as it runs (layer kernels on)
  const stepPeakBytes = (
    await tf.profile(async () => {
      await runDistill(models, 1);
    })
  ).peakBytes;
  const fwdPeakBytes = (
    await tf.profile(() => {
      const { x, t, cond } = forwardInputs(batch);
      unetForward(teacher, x, t, cond).dispose();
      tf.dispose([x, cond]);
    })
  ).peakBytes;
  // FLOPs (and the kernel time shares) from the same step and forward on the op chains: tf.profile records only
  // kernels the engine dispatches, and the layer kernels (linear, conv + bias, attention) run their products and
  // their gradients' inside one dispatch; the chains run the same products on the same shapes
  const { step, fwd, teacherPassFlops } = await withOpChains(info.tfjsBackend, async () => {
    await runDistill(models, 1);
    const stepProfile = await tf.profile(async () => {
      await runDistill(models, 1);
    });
    const step = countFlops(stepProfile.kernels as unknown as KernelRecord[]);
    const fwdProfile = await tf.profile(() => {
      const { x, t, cond } = forwardInputs(batch);
      unetForward(teacher, x, t, cond).dispose();
      tf.dispose([x, cond]);
    });
    const fwd = countFlops(fwdProfile.kernels as unknown as KernelRecord[]);
    // the score gradient's two teacher passes (frozen with CFG on 2B; LoRA on 2B with CFG, on B at guidance 1), counted the same way
    const teacherPassFlops = countFlops(
      (
        await tf.profile(() => {
          const frozen = forwardInputs(2 * batch);
          const adapted = forwardInputs(settings.lora.guidanceScale === 1 ? batch : 2 * batch);
          const lora = initLora(teacher.params, { rank: settings.lora.rank, alpha: settings.lora.alpha, targets: settings.lora.targets }, 0);
          unetForward(teacher, frozen.x, frozen.t, frozen.cond).dispose();
          unetForward(teacher, adapted.x, adapted.t, adapted.cond, lora).dispose();
          disposeParams(lora.params);
          tf.dispose([frozen.x, frozen.cond, adapted.x, adapted.cond]);
        })
      ).kernels as unknown as KernelRecord[],
    ).total;
    return { step, fwd, teacherPassFlops };
  });
  // exclusive CPU time by kernel over steps 2..3 of a 3-step run (the first step warms up)
  const KERNEL_CPU_STEPS = 2;
  const recorder = recordKernelCpu(info.tfjsBackend);
  let kernelCpuStep: KernelCpu;
  try {
    await runDistill(timedModels, KERNEL_CPU_STEPS + 1, (done) => {
      // counts steps 2..n, up to the end-of-run checkpoint
      if (done === 1) recorder.resume();
      if (done === KERNEL_CPU_STEPS + 1) recorder.pause();
    });
  } finally {
    kernelCpuStep = recorder.stop();
  }

  // the peer re-writes the bench's UNet (attention at the last level, an ε body); --study's teacher differs
  let torch = opts['no-torch'] || opts.study ? undefined : await startTorch();
  if (!opts['no-torch'] && !opts.study && torch === undefined) console.error(`pytorch peer (${PYTHON} ${PEER}) did not start; vsdlab side only`);
  let torchInfo: Record<string, unknown> = {};
  const peerHello = { torch: torch?.hello['torch'], threads: torch?.hello['threads'] };
  const checkDir = mkdtempSync(join(tmpdir(), 'vsd-bench-check-'));
  try {
    if (torch !== undefined) {
      const weights = join(checkDir, 'teacher.safetensors');
      await writeCheckFile(teacher, weights);
      torchInfo = await torch.ask({ cmd: 'load', weights, config, settings, imageShape: [config.inChannels, size, size], textLen: TEXT_LEN });
    }
    if (torch !== undefined) torchInfo['forward_flops'] = (await torch.ask({ cmd: 'flops', batch }))['forward_flops'];
  } catch (err) {
    console.error(`pytorch peer failed to load the model: ${String(err)}`);
    torch?.close();
    torch = undefined;
  } finally {
    rmSync(checkDir, { recursive: true, force: true });
  }

  const ours: number[] = [];
  // --optimizer both: the same runs with the op-sequence optimiser
  const oursOps: number[] = [];
  // --teacher-engine both: the same runs with the teacher passes on tfjs; and the ORT passes' CPU per step
  const oursTfjs: number[] = [];
  const oursPass: number[] = [];
  const theirs: number[] = [];
  const oursFwd: number[] = [];
  const theirsFwd: number[] = [];
  let peakCases: { label: string; flops: number; seconds: number }[] = [];
  let torchPeaks: Record<string, unknown> = {};
  const lastLoss = { ours: [Number.NaN, Number.NaN], theirs: [Number.NaN, Number.NaN] };
  // rounds of (vsdlab, PyTorch): forward timing, then one fresh training run each; step 1 of a run is its warm-up
  for (let round = 0; round < rounds; round++) {
    const p = peaks();
    peakCases = round === 0 ? p : peakCases.map((c, i) => ({ ...c, seconds: Math.min(c.seconds, (p[i] as { seconds: number }).seconds) }));
    if (torch !== undefined) {
      const tp = await torch.ask({ cmd: 'peaks' });
      torchPeaks = round === 0 ? tp : { matmul_gflops: Math.max(Number(torchPeaks['matmul_gflops']), Number(tp['matmul_gflops'])), conv_gflops: Math.max(Number(torchPeaks['conv_gflops']), Number(tp['conv_gflops'])) };
    }
    oursFwd.push(...timeForward(teacher, forwardReps));
    if (torch !== undefined) theirsFwd.push(...((await torch.ask({ cmd: 'forward', batch, reps: forwardReps }))['seconds'] as number[]));
    // --optimizer both: an op-sequence run before (even rounds) or after (odd rounds) the fused one
    const opsRun = async (): Promise<void> => {
      setOptimizerPath('ops');
      oursOps.push(...(await runDistill(timedModels, stepsPerRound)).seconds.slice(1));
      setOptimizerPath('fused');
    };
    const tfjsRun = async (): Promise<void> => {
      oursTfjs.push(...(await runDistill(models, stepsPerRound)).seconds.slice(1));
    };
    if (opts.optimizer === 'both' && round % 2 === 0) await opsRun();
    if (teacherEngine === 'both' && round % 2 === 0) await tfjsRun();
    const r = await runDistill(timedModels, stepsPerRound);
    ours.push(...r.seconds.slice(1));
    oursPass.push(...r.passSeconds.slice(1));
    if (opts.optimizer === 'both' && round % 2 === 1) await opsRun();
    if (teacherEngine === 'both' && round % 2 === 1) await tfjsRun();
    lastLoss.ours = [r.loss, r.lossLora];
    if (torch !== undefined) {
      const tr = await torch.ask({ cmd: 'steps', n: stepsPerRound, seed: round });
      theirs.push(...(tr['seconds'] as number[]).slice(1));
      const last = tr['last'] as Record<string, number>;
      lastLoss.theirs = [Number(last['loss_vsd']), Number(last['loss_lora'])];
    }
    console.error(`round ${round + 1}/${rounds}: vsdlab ${r.seconds.slice(1).map((s) => fmt(s)).join(' ')} s${torch !== undefined ? `; pytorch ${theirs.slice(-(stepsPerRound - 1)).map((s) => fmt(s)).join(' ')} s` : ''}`);
  }
  torch?.close();
  passes?.dispose();

  // report
  const oursStep = median(ours);
  const oursFwdS = median(oursFwd);
  const stepGflops = step.total / oursStep / 1e9;
  const fwdGflops = fwd.total / oursFwdS / 1e9;
  const matmulPeak = peakCases[0] as { flops: number; seconds: number };
  const convPeak = peakCases[1] as { flops: number; seconds: number };
  const peakOf = (c: { flops: number; seconds: number }): number => c.flops / c.seconds / 1e9;
  const forwardPeak = Math.max(peakOf(matmulPeak), peakOf(convPeak));
  const check = torchInfo['check'] as Record<string, { max_abs_diff: number; max_abs_ref: number }> | undefined;

  const torchHello = theirs.length === 0 ? 'n/a' : `${String(peerHello.torch)} CPU, ${String(peerHello.threads)} thread`;
  console.log(`tfjs ${info.version.tfjs}, wasm ${info.version.backend} (simd ${String(info.details['simd'])}, threads ${String(info.details['threads'])}, fast kernels ${Array.isArray(info.details['fastKernels']) ? 'on' : 'off'}); PyTorch ${torchHello}`);
  console.log(`teacher passes of the score gradient: ${teacherEngine === 'tfjs' ? 'tfjs (wasm)' : teacherEngine === 'onnx' ? 'ONNX Runtime, one thread (as distill.teacher_engine: onnx)' : 'ONNX Runtime, one thread (step figures), and tfjs, alternating'}`);
  console.log(`optimiser: ${opts.optimizer === 'both' ? 'fused pass (WebAssembly on the heap; step figures) and tfjs op sequences, alternating' : opts.optimizer === 'ops' ? 'tfjs op sequences (clipping, Adam, EMA)' : 'fused pass in WebAssembly on the heap (clipping, Adam, EMA)'}`);
  console.log(opts.baseline ? 'variant: BASELINE (--baseline): element-wise layers as tfjs compositions, Identity/Cast copying, as before the fused ops' : 'variant: fused element-wise ops (group norm + SiLU, layer norm, SiLU, GEGLU as WebAssembly kernels; linear, conv + bias and the attention core as one dispatch each), Identity/Cast sharing memory');
  console.log(`model: UNet ${JSON.stringify({ ...config, zeroInit: undefined })}, images ${size}x${size}x${config.inChannels}, text ${TEXT_LEN}x${config.condDim}, batch ${batch}`);
  console.log(`step${opts.study ? ' (--study: the embedded ablation\'s)' : ''}: VSD with LoRA teacher (rank ${settings.lora.rank}, alpha ${settings.lora.alpha}, ${settings.lora.targets.join(',')}), CFG ${settings.guidanceScale} on the frozen teacher (2B = ${2 * batch}), ${settings.lora.guidanceScale} on the LoRA teacher, Adam on student and LoRA, clip 1.0, EMA`);
  console.log(`params: vsdlab UNet ${params}, LoRA ${loraParams}; PyTorch UNet ${String(torchInfo['params'] ?? 'n/a')}, LoRA ${String(torchInfo['lora_params'] ?? 'n/a')}`);
  if (check !== undefined) {
    console.log(`same weights, same inputs: PyTorch forward vs vsdlab max |diff| ${check['lora_on']?.max_abs_diff.toExponential(2)} with LoRA on, ${check['lora_off']?.max_abs_diff.toExponential(2)} off (outputs up to ${check['lora_off']?.max_abs_ref.toFixed(2)})`);
  }
  console.log(`tensor memory (tf.profile peakBytes): ${fmt(stepPeakBytes / 2 ** 20, 0)} MiB during one distill() step, ${fmt(fwdPeakBytes / 2 ** 20, 0)} MiB during one forward (B=${batch}); the wasm heap cannot grow past 4 GiB`);
  console.log(`FLOPs (2·MACs of conv/matMul kernels, from tf.profile of the step on the op chains): step ${fmt(step.total / 1e9)} G, forward(B=${batch}) ${fmt(fwd.total / 1e9)} G (step = ${fmt(step.total / fwd.total, 2)}× forward)`);
  for (const [family, e] of step.byFamily) console.log(`  ${family}: ${fmt(e.flops / 1e9)} GFLOP in ${e.calls} calls`);
  if (torchInfo['forward_flops'] !== undefined) console.log(`  cross-check: torch.profiler(with_flops) counts ${fmt(Number(torchInfo['forward_flops']) / 1e9)} GFLOP for the same forward (conv2d, addmm, mm, bmm)`);
  console.log(`CPU time per step, median of ${ours.length} (steps 2..${stepsPerRound} of ${rounds} interleaved runs): vsdlab ${fmt(oursStep)} s${theirs.length > 0 ? `, PyTorch ${fmt(median(theirs))} s, vsdlab / PyTorch ${fmt(oursStep / median(theirs), 2)}` : ''}`);
  console.log(`  vsdlab min/max ${fmt(Math.min(...ours))}/${fmt(Math.max(...ours))} s${theirs.length > 0 ? `; PyTorch min/max ${fmt(Math.min(...theirs))}/${fmt(Math.max(...theirs))} s` : ''}`);
  console.log(`forward only (B=${batch}), median of ${oursFwd.length}: vsdlab ${fmt(oursFwdS)} s = ${fmt(fwdGflops, 1)} GFLOP/s${theirsFwd.length > 0 ? `, PyTorch ${fmt(median(theirsFwd))} s = ${fmt(fwd.total / median(theirsFwd) / 1e9, 1)} GFLOP/s` : ''}`);
  console.log(`step throughput: vsdlab ${fmt(stepGflops, 1)} GFLOP/s${theirs.length > 0 ? `, PyTorch ${fmt(step.total / median(theirs) / 1e9, 1)} GFLOP/s (same FLOP count)` : ''}`);
  console.log('forward peak on this backend (best CPU time per call):');
  for (const c of peakCases) console.log(`  ${c.label}: ${fmt(peakOf(c), 1)} GFLOP/s`);
  if (torchPeaks['matmul_gflops'] !== undefined) console.log(`  (PyTorch, same run: matMul ${fmt(Number(torchPeaks['matmul_gflops']), 1)}, conv2d 8x32x32x64 ${fmt(Number(torchPeaks['conv_gflops']), 1)} GFLOP/s)`);
  console.log(`step / forward peak (max of matMul ${fmt(peakOf(matmulPeak), 1)}, conv ${fmt(peakOf(convPeak), 1)}): ${fmt((100 * stepGflops) / forwardPeak, 1)}%  (issue 4 target ≥ 50%)`);
  if (oursOps.length > 0) {
    const opsStep = median(oursOps);
    console.log(`optimiser (--optimizer both, alternating runs): fused ${fmt(oursStep)} s per step (${fmt((100 * stepGflops) / forwardPeak, 1)}% of the forward peak), op sequences ${fmt(opsStep)} s (${fmt((100 * step.total) / opsStep / 1e9 / forwardPeak, 1)}%); ops / fused ${fmt(opsStep / oursStep, 3)}×`);
    console.log(`  op sequences min/max ${fmt(Math.min(...oursOps))}/${fmt(Math.max(...oursOps))} s`);
  }
  if (passes !== undefined) {
    const pass = median(oursPass);
    const passFlops = teacherPassFlops;
    console.log(`teacher passes on ONNX Runtime: ${fmt(pass)} s CPU per step (median), ${fmt(passFlops / 1e9)} GFLOP = ${fmt(passFlops / pass / 1e9, 1)} GFLOP/s; the rest of the step (tfjs) ${fmt(oursStep - pass)} s for ${fmt((step.total - passFlops) / 1e9)} GFLOP = ${fmt((step.total - passFlops) / (oursStep - pass) / 1e9, 1)} GFLOP/s (${fmt((100 * (step.total - passFlops)) / (oursStep - pass) / 1e9 / forwardPeak, 1)}% of the wasm forward peak)`);
  }
  if (oursTfjs.length > 0) {
    const tfjsStep = median(oursTfjs);
    console.log(`teacher engine (--teacher-engine both, alternating runs): onnx ${fmt(oursStep)} s per step (${fmt((100 * stepGflops) / forwardPeak, 1)}% of the wasm forward peak), tfjs ${fmt(tfjsStep)} s (${fmt((100 * step.total) / tfjsStep / 1e9 / forwardPeak, 1)}%); tfjs / onnx ${fmt(tfjsStep / oursStep, 3)}×`);
    console.log(`  tfjs min/max ${fmt(Math.min(...oursTfjs))}/${fmt(Math.max(...oursTfjs))} s`);
  }
  console.log(`UNet forward / forward peak: ${fmt((100 * fwdGflops) / forwardPeak, 1)}%; step / UNet forward: ${fmt((100 * stepGflops) / fwdGflops, 1)}%`);
  // both sides start the LoRA teacher equal to the teacher, so the VSD loss is tiny on the first steps
  console.log(`last losses: vsdlab VSD ${lastLoss.ours[0]?.toExponential(3)}, LoRA ${lastLoss.ours[1]?.toExponential(3)}${theirs.length > 0 ? `; PyTorch VSD ${lastLoss.theirs[0]?.toExponential(3)}, LoRA ${lastLoss.theirs[1]?.toExponential(3)}` : ''}`);
  if (!opts['no-phases']) {
    const parts = await phases(teacher);
    const sum = parts.filter((p) => p.inStep).reduce((a, p) => a + p.seconds, 0);
    console.log(`vsdlab step by part (CPU s, median of 3, timed separately; parts sum to ${fmt(sum)} s vs ${fmt(oursStep)} s in the trainer), peak tensor memory:`);
    for (const p of parts) console.log(`  ${p.label}: ${fmt(p.seconds)} s${p.inStep ? ` (${fmt((100 * p.seconds) / sum, 1)}%)` : ''}, ${fmt(p.peakBytes / 2 ** 20, 0)} MiB`);
  }
  console.log(`kernel CPU time per step, exclusive (a kernel's own time without the kernels it calls; steps 2..${KERNEL_CPU_STEPS + 1} of a run, ${fmt(kernelCpuStep.totalMs / KERNEL_CPU_STEPS / 1000)} s per step with the timers):`);
  console.log(`  ${formatKernelCpu(kernelCpuStep, KERNEL_CPU_STEPS, 16)}`);
  const shares = [...step.msByKernel].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`kernel time shares in the profiled step, on the op chains (wall, ${fmt(step.kernelMs / 1000, 2)} s in kernels):`);
  console.log(`  ${shares.map(([n, ms]) => `${n} ${fmt((100 * ms) / step.kernelMs, 1)}%`).join(', ')}`);
  for (const [family, e] of step.byFamily) console.log(`  ${family}: ${fmt((100 * e.ms) / step.kernelMs, 1)}% of kernel time, ${fmt(e.flops / (e.ms / 1000) / 1e9, 1)} GFLOP/s while in it`);
};

await main();
