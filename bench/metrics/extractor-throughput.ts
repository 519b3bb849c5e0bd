// feature extractor throughput: onnxruntime-node (OnnxExtractor, 2 intra-op threads) vs PyTorch CPU (2 threads)
// on the same network (pytorch-fid's FID Inception, seeded random weights from tools/export_inception.py), same
// batch size, same input; the two sides alternate round by round (the machine's load drifts), medians reported.
// preprocessing is not timed.
// run: npm run build && node dist/bench/metrics/extractor-throughput.js [--batch 8] [--batches 2] [--rounds 3] [--width-divisor 1]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxExtractor } from '../../src/metrics/extract/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const BATCH = arg('batch', 8);
const BATCHES = arg('batches', 2);
const ROUNDS = arg('rounds', 3);
const DIVISOR = arg('width-divisor', 1);
const THREADS = 2;
const PYTHON = '/usr/bin/python3';

const PY = String.raw`
import sys, time, json
import numpy as np, torch
sys.path.insert(0, "tools")
import export_inception as ei
batch, batches, divisor, threads, inp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
net = ei.build(seed=0, width_divisor=divisor)
x = torch.from_numpy(np.fromfile(inp, dtype="<f4").reshape(batch, 3, 299, 299))
with torch.no_grad():
    net(x)  # warm-up
    t = time.perf_counter()
    for _ in range(batches):
        p, _ = net(x)
    dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "images": batch * batches, "first": p[0, :4].tolist()}))
`;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vsdlab-bench-extractor-'));
  try {
    const model = join(dir, 'inception.onnx');
    run(PYTHON, ['tools/export_inception.py', '--random-init', '0', '--width-divisor', String(DIVISOR), '--out', model, '--no-check']);
    const input = new Float32Array(BATCH * 3 * 299 * 299);
    let s = 1;
    for (let i = 0; i < input.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      input[i] = (s / 2 ** 32) * 2 - 1;
    }
    const inputPath = join(dir, 'input.f32');
    writeFileSync(inputPath, Buffer.from(input.buffer));

    const x = await OnnxExtractor.load(model, { outputs: ['pool3', 'logits_unbiased'], threads: THREADS, provider: 'cpu' });
    await x.run(input, BATCH); // warm-up
    const images = BATCH * BATCHES;
    const ortRates: number[] = [];
    const torchRates: number[] = [];
    const ratios: number[] = [];
    let diff = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      let first: Float32Array = new Float32Array();
      for (let b = 0; b < BATCHES; b++) first = (await x.run(input, BATCH)).pool3!;
      const ortRate = images / ((performance.now() - t0) / 1000);
      const torch = JSON.parse(run(PYTHON, ['-c', PY, String(BATCH), String(BATCHES), String(DIVISOR), String(THREADS), inputPath])) as {
        seconds: number;
        first: number[];
      };
      const torchRate = images / torch.seconds;
      diff = Math.max(diff, ...torch.first.map((v, i) => Math.abs(v - first[i]!)));
      ortRates.push(ortRate);
      torchRates.push(torchRate);
      ratios.push(ortRate / torchRate);
      console.log(`round ${r + 1}: onnxruntime-node ${ortRate.toFixed(2)} images/s, PyTorch ${torchRate.toFixed(2)} images/s, ratio ${(ortRate / torchRate).toFixed(2)}`);
    }
    await x.dispose();
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    console.log(`network: FID Inception, width divisor ${DIVISOR}, seeded random weights; batch ${BATCH}, ${BATCHES} batches per round, ${ROUNDS} rounds; ${THREADS} threads each`);
    console.log('| side | images/s (median) |');
    console.log('|---|---|');
    console.log(`| onnxruntime-node 1.30 (cpu EP) | ${median(ortRates).toFixed(2)} |`);
    console.log(`| PyTorch CPU (/usr/bin/python3) | ${median(torchRates).toFixed(2)} |`);
    console.log(`median ratio onnxruntime-node / PyTorch (images/s): ${median(ratios).toFixed(2)}   (pool3 max |diff| on the first row: ${diff.toExponential(2)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
