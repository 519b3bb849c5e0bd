// One SwiftBrush step on a diffusers UNet (the two gradients of distill(): the student's VSD loss through the
// frozen and the LoRA teacher with CFG, and the LoRA teacher's loss), vsdlab on the tfjs wasm backend (one thread:
// Node's wasm build runs one) next to diffusers v0.27.2 on PyTorch CPU (bench/distill/sd_vsd_step_torch.py) with
// 1 and with 2 threads, the sides alternating round by round. Process CPU seconds per step (the VM is shared).
// The mid-size UNet is bench/sd/unet_torch.py's: block_out [64, 128, 256], heads [2, 4, 8], D = 64, 32×32 latents.
// LoRA rank 64, α 108 on to_q/to_v (SwiftBrush's); ε student at t = 999; CFG 4.5 on both teachers.
// Optimizer steps are not timed (the same Adam / EMA as the embedded bench, bench/distill/vsd-step.ts).
// run: npm run build && PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src node dist/bench/distill/sd-vsd-step.js [--batch 1] [--reps 3] [--rounds 2] [--unet DIR/unet]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { cloneParams, loraGradients, studentGradients, type DistillModels, type DistillSettings } from '../../src/distill/trainer.js';
import { parseUNetConfig } from '../../src/models/sd/unet-config.js';
import { recordSdUNetParams } from '../../src/models/sd/unet-params.js';
import { initLora } from '../../src/nn/lora.js';
import { TorchLayoutWeights } from '../../src/nn/torch-layout.js';
import { sdDistillNet } from '../../src/pipelines/sd/distill-net.js';
import { selectBackend } from '../../src/tensor/index.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';

const argOf = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const BATCH = Number(argOf('batch', '1'));
const REPS = Number(argOf('reps', '3'));
const ROUNDS = Number(argOf('rounds', '2'));
/** a mid-size UNet folder made before (`bench/sd/unet_torch.py prepare DIR` writes DIR/unet); else made here */
const UNET = argOf('unet', '');
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function python(script: string, args: string[]): string {
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'vsdlab-bench-sd-vsd-'));
  try {
    if (UNET === '') python('bench/sd/unet_torch.py', ['prepare', tmp]);
    const unetDir = UNET === '' ? join(tmp, 'unet') : UNET;
    const { config } = parseUNetConfig(join(unetDir, 'config.json'), JSON.parse(readFileSync(join(unetDir, 'config.json'), 'utf8')) as Record<string, unknown>);
    const backend = await selectBackend('wasm');
    const { tensors } = loadSafetensors(join(unetDir, 'diffusion_pytorch_model.safetensors'));
    const weights = new TorchLayoutWeights((n) => tensors[n]?.clone(), unetDir);
    const teacher = recordSdUNetParams(weights, config, false);
    weights.dispose();
    tf.dispose(Object.values(tensors));
    const side = config.sample_size ?? 32;
    const dim = typeof config.cross_attention_dim === 'number' ? config.cross_attention_dim : (config.cross_attention_dim[0] as number);
    const models: DistillModels = {
      schedule: scaledLinearSchedule(),
      net: sdDistillNet(config, 'epsilon'),
      teacher,
      initRandom: () => teacher,
      encodeText: () => tf.randomNormal([BATCH, 77, dim], 0, 1, 'float32', 3) as tf.Tensor3D,
      nullText: tf.randomNormal([1, 77, dim], 0, 1, 'float32', 4) as tf.Tensor3D,
      imageShape: [side, side, config.in_channels],
    };
    const lora = { enabled: true, rank: 64, alpha: 108, targets: ['to_q', 'to_v'], lr: 1e-3, updatesPerStep: 1, lossWeighting: 'alpha-bar' as const, guidanceScale: 4.5, nullPromptProb: 0.1, tMin: 0, tMax: 999 };
    const settings = { guidanceScale: 4.5, gradientWeighting: 'sigma-squared', studentParameterization: 'eps', inputTimestep: 999, lora } as unknown as DistillSettings;
    const student = cloneParams(teacher);
    const adapter = initLora(teacher, lora, 0);
    const params = Object.values(student).reduce((n, p) => n + p.size, 0);
    const loraParams = Object.values(adapter.params).reduce((n, p) => n + p.size, 0);
    const vsdlabStep = (rep: number): number => {
      const c0 = cpuSeconds();
      tf.tidy(() => {
        const shape = [BATCH, side, side, config.in_channels];
        const cond = models.encodeText([]);
        const s = studentGradients(models, settings, student, adapter, { z: tf.randomNormal(shape, 0, 1, 'float32', 10 + rep), t: [20 + ((rep * 397) % 961)], noise: tf.randomNormal(shape, 0, 1, 'float32', 20 + rep), cond });
        const l = loraGradients(models, settings, adapter, { x0: s.x0, t: [(rep * 613) % 1000], noise: tf.randomNormal(shape, 0, 1, 'float32', 30 + rep), cond });
        Object.values(s.grads)[0]!.dataSync();
        Object.values(l.grads)[0]!.dataSync();
        s.x0.dispose();
      });
      return cpuSeconds() - c0;
    };
    const ours: number[] = [];
    const torch1: number[] = [];
    const torch2: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      vsdlabStep(REPS + round); // warm-up
      for (let r = 0; r < REPS; r++) ours.push(vsdlabStep(r));
      for (const [threads, into] of [[1, torch1], [2, torch2]] as const) {
        const out = JSON.parse(python('bench/distill/sd_vsd_step_torch.py', ['time', unetDir, '--batch', String(BATCH), '--reps', String(REPS), '--threads', String(threads)])) as { cpu_seconds: number[] };
        into.push(...out.cpu_seconds);
      }
      console.error(`round ${round + 1}/${ROUNDS}: vsdlab ${median(ours).toFixed(2)} s, torch 1 thread ${median(torch1).toFixed(2)} s, 2 threads ${median(torch2).toFixed(2)} s (CPU seconds per step, medians so far)`);
    }
    console.log(`mid UNet ${params} parameters, LoRA ${loraParams}; batch ${BATCH}, ${side}×${side} latents; backend ${backend.name}`);
    console.log('| side | CPU s / step (median) | steps | vsdlab CPU time / side\'s |');
    console.log('|---|---|---|---|');
    for (const [name, v] of [['vsdlab tfjs wasm (1 thread)', ours], ['PyTorch CPU, 1 thread', torch1], ['PyTorch CPU, 2 threads', torch2]] as const) {
      console.log(`| ${name} | ${median(v).toFixed(2)} | ${v.length} | ${(median(ours) / median(v)).toFixed(2)} |`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
