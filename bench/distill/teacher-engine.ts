// The embedded study's sampling-only UNet passes on tfjs (wasm, one thread) against ONNX Runtime (one thread), side
// by side in one process on the committed teacher (models/embedded/teacher): a VSD step and an SDS step with the
// study's settings (experiments/embedded-ablation.yaml: batch 8, LoRA rank 16 on q/k/v/out/conv, CFG 4.5, LoRA
// guidance 1) with distill.teacher_engine tfjs vs onnx, and the 25-step DDIM teacher row (CFG 4.5, batch 50) with
// generate.engine tfjs vs onnx. Times are process CPU seconds (the 2-core machine is shared), alternated engine by
// engine so that load drifts hit both.
// run: npm run build && node dist/bench/distill/teacher-engine.js [--rounds 3 --steps 6 --images 500]
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { guided } from '../../src/diffusion/guidance.js';
import { ddimSample } from '../../src/diffusion/samplers/ddim.js';
import { sampleNoise } from '../../src/diffusion/sample-noise.js';
import { disposeParams, initUNet } from '../../src/diffusion/unet/index.js';
import { openUNetEngine } from '../../src/diffusion/unet/open-unet-engine.js';
import { engineDenoiser, type UNetEngine } from '../../src/diffusion/unet/unet-engine.js';
import type { UNetEngineName } from '../../src/diffusion/unet/engine-names.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { distill, type DistillModels, type DistillSettings } from '../../src/distill/trainer.js';
import { selectBackend } from '../../src/tensor/index.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { STUDY_LORA, studyStepSettings } from './bench-step-settings.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '6' },
    images: { type: 'string', default: '500' },
  },
});
const rounds = Number(opts.rounds);
const stepsPerRun = Number(opts.steps);
const images = Number(opts.images);
if (stepsPerRun < 2) throw new Error('--steps must be at least 2 (the first step of each run is a warm-up)');

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const backend = await selectBackend('wasm');
const teacher = loadTeacher('models/embedded/teacher');
const captions = ['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas', 'a yellow ring in the centre on a black canvas', 'two green squares on a white background', 'a purple triangle on the right against an orange canvas'];
const prompts = (step: number, n: number): string[] => Array.from({ length: n }, (_, i) => captions[(step * 3 + i) % captions.length] as string);

const loraShape = STUDY_LORA;
const settings = (lora: boolean): DistillSettings => studyStepSettings(stepsPerRun, lora);

/** CPU seconds of each step after the first (the first builds the ORT session or warms tfjs's kernels) */
async function steps(engine: UNetEngineName, lora: boolean): Promise<number[]> {
  const passes = engine === 'onnx' ? openUNetEngine(teacher.unet, 'onnx', { provider: 'cpu', lora: lora ? loraShape : undefined }) : undefined;
  const models: DistillModels = {
    schedule: teacher.schedule,
    net: embeddedDistillNet(teacher.unet.config),
    teacher: teacher.unet.params,
    initRandom: (seed) => initUNet(teacher.unet.config, seed).params,
    encodeText: (cs) => teacher.text.encode([...cs]),
    nullText: teacher.nullText,
    imageShape: teacher.imageShape,
    ...(passes ? { teacherPasses: passes } : {}),
  };
  const dir = mkdtempSync(join(tmpdir(), 'teacher-engine-bench-'));
  const seconds: number[] = [];
  let last = cpuSeconds();
  try {
    const result = await distill(models, settings(lora), prompts, dir, {
      progress: () => {
        const now = cpuSeconds();
        seconds.push(now - last);
        last = cpuSeconds();
      },
    });
    disposeParams(result.student);
    disposeParams(result.ema);
    if (result.lora) disposeParams(result.lora.params);
  } finally {
    passes?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return seconds.slice(1);
}

console.log(`teacher-engine bench: backend ${backend.name}, committed teacher, ${rounds} rounds × ${stepsPerRun - 1} timed steps per engine and objective`);
const stepTimes: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const lora of [true, false]) {
    for (const engine of ['tfjs', 'onnx'] as const) {
      const key = `${lora ? 'VSD' : 'SDS'} ${engine}`;
      (stepTimes[key] ??= []).push(...(await steps(engine, lora)));
    }
  }
}
for (const objective of ['VSD', 'SDS']) {
  const a = median(stepTimes[`${objective} tfjs`] ?? []);
  const b = median(stepTimes[`${objective} onnx`] ?? []);
  console.log(`${objective} step (B=8): teacher passes on tfjs ${(a * 1000).toFixed(0)} ms CPU, on onnx ${(b * 1000).toFixed(0)} ms CPU (median of ${(stepTimes[`${objective} onnx`] ?? []).length}): ${(a / b).toFixed(2)}× per step, ${((1 - b / a) * 100).toFixed(0)} % less`);
}

// the 25-step DDIM teacher row: batches of 50 captions (100 rows with CFG), each engine in turn on the same batch
const engines: Record<UNetEngineName, UNetEngine> = { tfjs: openUNetEngine(teacher.unet, 'tfjs'), onnx: openUNetEngine(teacher.unet, 'onnx', { provider: 'cpu' }) };
const batch = 50;
const total: Record<UNetEngineName, number> = { tfjs: 0, onnx: 0 };
let worst = 0;
for (let first = 0; first < images; first += batch) {
  const n = Math.min(batch, images - first);
  const z = sampleNoise(0, first, n, teacher.imageShape);
  const cond = teacher.text.encode(Array.from({ length: n }, (_, i) => captions[(first + i) % captions.length] as string));
  const out: Partial<Record<UNetEngineName, tf.Tensor>> = {};
  for (const name of ['tfjs', 'onnx'] as const) {
    const model = guided(engineDenoiser(engines[name]), { scale: 4.5, nullCond: teacher.nullText });
    const t0 = cpuSeconds();
    out[name] = ddimSample({ model, cond, schedule: teacher.schedule, steps: 25, xT: z });
    total[name] += cpuSeconds() - t0;
  }
  worst = Math.max(worst, tf.tidy(() => tf.max(tf.abs(tf.sub(out.tfjs as tf.Tensor, out.onnx as tf.Tensor))).dataSync()[0] as number));
  tf.dispose([z, cond, out.tfjs as tf.Tensor, out.onnx as tf.Tensor]);
}
engines.onnx.dispose();
console.log(`25-step DDIM teacher row, ${images} images (CFG 4.5, batch ${batch}): tfjs ${total.tfjs.toFixed(1)} s CPU, onnx ${total.onnx.toFixed(1)} s CPU: ${(total.tfjs / total.onnx).toFixed(2)}×; largest |onnx − tfjs| on the images in [−1, 1]: ${worst.toExponential(2)}`);
