// The committed embedded teacher's UNet forward (models/embedded/teacher: 32×32, patch 2, v body), tfjs on the
// wasm backend (one thread, fast and fused kernels: what the study's workers run) vs the same network exported by
// src/diffusion/unet/onnx-graph.ts and run by ONNX Runtime (onnxUNetEngine, the engine the study uses: synchronous,
// 1 intra-op, 1 inter-op thread).
// B = 16 (a distillation batch) and B = 100 (the 25-step sampler's 2×50 CFG batch); the two engines alternate rep
// by rep in one process (the shared machine's load drifts) and the figures are process CPU ms per forward (user +
// sys, all threads), medians over the reps. Also prints the largest |ORT − tfjs| on each batch.
// Last row: the teacher passes of one VSD step of the study (batch 8, experiments/embedded-ablation.yaml): the frozen
// teacher's CFG pair (16 samples) and the LoRA teacher (8 samples; rank 16 on q, k, v, out, conv, B non-zero) as
// both engines run them as the trainer does: two forwards (the frozen pair, then the LoRA teacher).
// run: npm run build && node dist/bench/diffusion/unet-onnx.js [--rounds 5] [--batches 16,100] [--vsd-batch 8]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { unetForward } from '../../src/diffusion/unet/index.js';
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import { initLora } from '../../src/nn/lora.js';
import { onnxUNetEngine } from '../../src/diffusion/unet/onnx-unet-engine.js';
import { loadTeacher } from '../../src/teacher/bundle.js';
import { selectBackend } from '../../src/tensor/index.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    batches: { type: 'string', default: '16,100' },
    'vsd-batch': { type: 'string', default: '8' },
  },
});
const rounds = Number(opts.rounds);
const batches = opts.batches.split(',').map(Number);
const vsdBatch = Number(opts['vsd-batch']);

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
// a tensor's data, read outside any tidy: tf.tidy walks a returned typed array key by key looking for tensors
// (≈ 140 CPU ms for B = 100's 307,200 outputs, which earlier runs of this bench counted in both engines' figures)
const read = (y: tf.Tensor): Float32Array => {
  const d = y.dataSync() as Float32Array;
  y.dispose();
  return d;
};
const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  const info = await selectBackend('wasm');
  const teacher = loadTeacher('models/embedded/teacher');
  const engine = onnxUNetEngine(teacher.unet);
  const [h, w, c] = teacher.imageShape;
  console.log(`tfjs ${info.version.tfjs} wasm (threads ${String(info.details['threads'])}) vs onnxruntime-node (1 thread); teacher ${h}x${w}x${c}, patch ${teacher.unet.config.patchSize ?? 1}`);
  const captions = ['a red circle at the top left on a blue background', 'A crimson cross near the bottom against an emerald canvas'];
  for (const batch of batches) {
    const x = tf.randomNormal([batch, h, w, c], 0, 1, 'float32', batch) as tf.Tensor4D;
    const cond = tf.tidy(() => tf.concat(Array.from({ length: batch }, (_, i) => teacher.text.encode([captions[i % 2] as string])), 0)) as tf.Tensor3D;
    const ts = Array.from({ length: batch }, (_, i) => 999 - ((i * 37) % 980));
    const tfjsForward = (): Float32Array => read(tf.tidy(() => unetForward(teacher.unet, x, ts, cond)));
    const ortForward = (): Float32Array => read(engine.forward(x, ts, cond));
    // warm-up (session creation, wasm kernels' first calls), and the two outputs compared
    const a = tfjsForward();
    const b = ortForward();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    const tfjsMs: number[] = [];
    const ortMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = cpuMs();
      tfjsForward();
      tfjsMs.push(cpuMs() - t0);
      t0 = cpuMs();
      ortForward();
      ortMs.push(cpuMs() - t0);
    }
    const [mt, mo] = [median(tfjsMs), median(ortMs)];
    console.log(`B=${batch}: tfjs wasm ${mt.toFixed(1)} CPU ms/forward, ORT ${mo.toFixed(1)} CPU ms/forward, ORT ${(mt / mo).toFixed(2)}x faster (median of ${rounds}); max |ORT − tfjs| ${diff.toExponential(2)}`);
    tf.dispose([x, cond]);
  }
  engine.dispose();

  // the VSD step's teacher passes: frozen CFG pair [uncond | cond] and the LoRA teacher on cond (guidance 1)
  const lora = initLora(teacher.unet.params, { rank: 16, alpha: 16, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) }, 3);
  for (const [name, p] of Object.entries(lora.params)) if (name.endsWith('lora_b')) p.assign(tf.randomNormal(p.shape, 0, 0.05, 'float32', name.length));
  const loraEngine = onnxUNetEngine(teacher.unet, { lora: lora.config });
  const b = vsdBatch;
  const xt = tf.randomNormal([b, h, w, c], 0, 1, 'float32', 5) as tf.Tensor4D;
  const text = tf.tidy(() => tf.concat(Array.from({ length: b }, (_, i) => teacher.text.encode([captions[i % 2] as string])), 0)) as tf.Tensor3D;
  const nulls = tf.tidy(() => tf.concat(Array.from({ length: b }, () => teacher.nullText), 0)) as tf.Tensor3D;
  const ts = Array.from({ length: b }, (_, i) => 20 + ((i * 131) % 960));
  const x2 = tf.concat([xt, xt]) as tf.Tensor4D;
  const cond2 = tf.concat([nulls, text]) as tf.Tensor3D;
  const t2 = [...ts, ...ts];
  const tfjsPasses = (): Float32Array =>
    read(
      tf.tidy(() => {
        const frozen = unetForward(teacher.unet, x2, t2, cond2);
        const adapted = unetForward(teacher.unet, xt, ts, text, lora);
        return tf.concat([frozen, adapted]);
      }),
    );
  const ortPasses = (): Float32Array =>
    read(
      tf.tidy(() => {
        const frozen = loraEngine.forward(x2, t2, cond2);
        const adapted = loraEngine.forward(xt, ts, text, lora);
        return tf.concat([frozen, adapted]);
      }),
    );
  const ra = tfjsPasses();
  const rb = ortPasses();
  let diff = 0;
  for (let i = 0; i < ra.length; i++) diff = Math.max(diff, Math.abs((ra[i] as number) - (rb[i] as number)));
  const tfjsMs: number[] = [];
  const ortMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = cpuMs();
    tfjsPasses();
    tfjsMs.push(cpuMs() - t0);
    t0 = cpuMs();
    ortPasses();
    ortMs.push(cpuMs() - t0);
  }
  const [mt, mo] = [median(tfjsMs), median(ortMs)];
  console.log(`VSD teacher passes, batch ${b} (frozen 2×${b} + LoRA ${b}): tfjs wasm ${mt.toFixed(1)} CPU ms (two forwards), ORT ${mo.toFixed(1)} CPU ms (two forwards), ORT ${(mt / mo).toFixed(2)}x faster (median of ${rounds}); max |ORT − tfjs| ${diff.toExponential(2)}`);
  tf.dispose([xt, text, nulls, x2, cond2]);
  loraEngine.dispose();
}

await main();
