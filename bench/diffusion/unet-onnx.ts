// The committed embedded teacher's UNet forward (models/embedded/teacher: 32×32, patch 2, v body), tfjs on the
// wasm backend (one thread, fast and fused kernels: what the study's workers run) vs the same network exported by
// src/diffusion/unet/onnx-graph.ts and run by ONNX Runtime (createOnnxUNet: 1 intra-op, 1 inter-op thread).
// B = 16 (a distillation batch) and B = 100 (the 25-step sampler's 2×50 CFG batch); the two engines alternate rep
// by rep in one process (the shared machine's load drifts) and the figures are process CPU ms per forward (user +
// sys, all threads), medians over the reps. Also prints the largest |ORT − tfjs| on each batch.
// run: npm run build && node dist/bench/diffusion/unet-onnx.js [--rounds 5] [--batches 16,100]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { unetForward } from '../../src/diffusion/unet/index.js';
import { createOnnxUNet } from '../../src/diffusion/unet/onnx-engine.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { selectBackend } from '../../src/tensor/index.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    batches: { type: 'string', default: '16,100' },
  },
});
const rounds = Number(opts.rounds);
const batches = opts.batches.split(',').map(Number);

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  const info = await selectBackend('wasm');
  const teacher = loadTeacher('models/embedded/teacher');
  const engine = createOnnxUNet(teacher.unet);
  const [h, w, c] = teacher.imageShape;
  console.log(`tfjs ${info.version.tfjs} wasm (threads ${String(info.details['threads'])}) vs onnxruntime-node (1 thread); teacher ${h}x${w}x${c}, patch ${teacher.unet.config.patchSize ?? 1}`);
  const captions = ['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas'];
  for (const batch of batches) {
    const x = tf.randomNormal([batch, h, w, c], 0, 1, 'float32', batch) as tf.Tensor4D;
    const cond = tf.tidy(() => tf.concat(Array.from({ length: batch }, (_, i) => teacher.text.encode([captions[i % 2] as string])), 0)) as tf.Tensor3D;
    const ts = Array.from({ length: batch }, (_, i) => 999 - ((i * 37) % 980));
    const tfjsForward = (): Float32Array => tf.tidy(() => unetForward(teacher.unet, x, ts, cond).dataSync() as Float32Array);
    const ortForward = async (): Promise<Float32Array> => {
      const y = await engine.run(x, ts, cond);
      const d = y.dataSync() as Float32Array;
      y.dispose();
      return d;
    };
    // warm-up (session creation, wasm kernels' first calls), and the two outputs compared
    const a = tfjsForward();
    const b = await ortForward();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    const tfjsMs: number[] = [];
    const ortMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = cpuMs();
      tfjsForward();
      tfjsMs.push(cpuMs() - t0);
      t0 = cpuMs();
      await ortForward();
      ortMs.push(cpuMs() - t0);
    }
    const [mt, mo] = [median(tfjsMs), median(ortMs)];
    console.log(`B=${batch}: tfjs wasm ${mt.toFixed(1)} CPU ms/forward, ORT ${mo.toFixed(1)} CPU ms/forward, ORT ${(mt / mo).toFixed(2)}x faster (median of ${rounds}); max |ORT − tfjs| ${diff.toExponential(2)}`);
    tf.dispose([x, cond]);
  }
  await engine.dispose();
}

await main();
