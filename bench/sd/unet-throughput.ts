// SD UNet forward throughput, one thread each: the tfjs engine (wasm, SIMD) vs ONNX Runtime CPU (the ONNX engine's
// UNet) vs diffusers' PyTorch UNet on CPU (bench/sd/unet_torch.py), same weights, same batch-2 inputs (a CFG
// batch); the three sides alternate round by round (the machine's load drifts), medians reported.
// configs: tiny = test/fixtures/sd/tiny-sd2 (8×8 latents); mid = block_out [64, 128, 256], heads [2, 4, 8], 32×32
// latents, random weights made by unet_torch.py.
// run: npm run build && PYTHONPATH=/tmp/diffusers/src:/tmp/hub/src node dist/bench/sd/unet-throughput.js [--config tiny|mid] [--reps 10] [--rounds 3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/tensor/index.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { TorchLayoutWeights } from '../../src/nn/torch-layout.js';
import { parseUNetConfig } from '../../src/models/sd/unet-config.js';
import { sdUNetForward } from '../../src/models/sd/unet.js';
import { OnnxUNet } from '../../src/models/sd/onnx/optimum-networks.js';

const argOf = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const CONFIG = argOf('config', 'tiny');
const REPS = Number(argOf('reps', '10'));
const ROUNDS = Number(argOf('rounds', '3'));
const BATCH = 2;
const PY = 'bench/sd/unet_torch.py';

function python(args: string[]): string {
  const r = spawnSync('/usr/bin/python3', [PY, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${PY} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** unet_torch.py's make_inputs: v_i = ((i·7919) mod 2003) / 1001.5 − 1 */
const seq = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 2003) / 1001.5 - 1);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'vsdlab-bench-unet-'));
  try {
    let unetDir = 'test/fixtures/sd/tiny-sd2/unet';
    let onnxPath = 'test/fixtures/sd/tiny-sd2-onnx/unet/model.onnx';
    if (CONFIG === 'mid') {
      python(['prepare', tmp]);
      unetDir = join(tmp, 'unet');
      onnxPath = join(unetDir, 'model.onnx');
    }
    const raw = JSON.parse(readFileSync(join(unetDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const { config } = parseUNetConfig(join(unetDir, 'config.json'), raw);
    const latent = config.sample_size ?? 64;
    const C = config.in_channels;
    const D = config.cross_attention_dim as number;
    const xs = seq(BATCH * C * latent * latent);
    const cs = seq(BATCH * 77 * D);
    const ts = [999, 37];

    await selectBackend('wasm');
    const { tensors } = loadSafetensors(join(unetDir, 'diffusion_pytorch_model.safetensors'));
    const layer = { weights: new TorchLayoutWeights((name) => tensors[name]?.clone(), unetDir) };
    const x = tf.tidy(() => tf.tensor4d(xs, [BATCH, C, latent, latent]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
    const cond = tf.tensor3d(cs, [BATCH, 77, D]);
    const tfjsForward = (): Float32Array => tf.tidy(() => sdUNetForward(layer, config, x, ts, cond).transpose([0, 3, 1, 2]).dataSync() as Float32Array);
    const ort = await OnnxUNet.open(onnxPath, { provider: 'cpu', threads: 1 });
    const ortForward = async (): Promise<Float32Array> => (await ort.predict({ data: xs, dims: [BATCH, C, latent, latent] }, ts, { data: cs, dims: [BATCH, 77, D] })).data;

    const first = { tfjs: tfjsForward(), ort: await ortForward() }; // warm-up
    const per = { tfjs: [] as number[], ort: [] as number[], torch: [] as number[] };
    let torchFirst: number[] = [];
    let torchVersion = '';
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = performance.now();
      for (let i = 0; i < REPS; i++) tfjsForward();
      per.tfjs.push((performance.now() - t0) / 1000 / REPS);
      t0 = performance.now();
      for (let i = 0; i < REPS; i++) await ortForward();
      per.ort.push((performance.now() - t0) / 1000 / REPS);
      const py = JSON.parse(python(['time', unetDir, '--batch', String(BATCH), '--latent', String(latent), '--reps', String(REPS), '--threads', '1'])) as { seconds_per_forward: number; first: number[]; torch: string };
      per.torch.push(py.seconds_per_forward);
      torchFirst = py.first;
      torchVersion = py.torch;
    }
    const diff = (a: Float32Array): number => Math.max(...torchFirst.map((v, i) => Math.abs(v - a[i]!)));
    const rate = (s: number): string => (BATCH / s).toFixed(1);
    const [tj, oo, pt] = [median(per.tfjs), median(per.ort), median(per.torch)];
    console.log(`config ${CONFIG}: latents ${latent}×${latent}, batch ${BATCH}, 1 thread each, ${ROUNDS} rounds × ${REPS} forwards; torch ${torchVersion}`);
    console.log('| engine | ms / forward | latents / s | vs PyTorch (throughput) | max abs diff vs PyTorch (first 8) |');
    console.log('|---|---|---|---|---|');
    console.log(`| tfjs wasm (SIMD) | ${(tj * 1000).toFixed(2)} | ${rate(tj)} | ${(pt / tj).toFixed(2)} | ${diff(first.tfjs).toExponential(1)} |`);
    console.log(`| ONNX Runtime CPU | ${(oo * 1000).toFixed(2)} | ${rate(oo)} | ${(pt / oo).toFixed(2)} | ${diff(first.ort).toExponential(1)} |`);
    console.log(`| PyTorch CPU | ${(pt * 1000).toFixed(2)} | ${rate(pt)} | 1.00 | 0 |`);
    tf.dispose([x, cond]);
    await ort.component.release();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
