// GFLOP/s of the training kernels on tfjs wasm (one thread), before and after routing, next to PyTorch CPU
// with one thread on the same shapes. run: npm run build && node dist/bench/tensor/kernels.js [--quick]
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { selectBackend, registerFastKernels, unregisterFastKernels } from '../../src/tensor/index.js';

type Op = 'matmul' | 'matmul_tA' | 'matmul_tB' | 'bmm' | 'bmm_tB' | 'conv_fwd' | 'conv_dx' | 'conv_dw';

interface Case {
  op: Op;
  label: string;
  /** matMul: [m, k, n] (with a batch of products for bmm); conv: x NHWC, f HWIO */
  mkn?: [number, number, number];
  batch?: number;
  x?: [number, number, number, number];
  f?: [number, number, number, number];
  stride?: number;
  flops: number;
}

const quick = process.argv.includes('--quick');
const matSize = quick ? 256 : 1024;

const convCase = (op: Op, x: [number, number, number, number], f: [number, number, number, number], stride: number): Case => {
  const [b, h, w] = x;
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  return { op, label: `${op} x=${x.join('x')} f=${f.join('x')} s=${stride}`, x, f, stride, flops: 2 * b * oh * ow * f[0] * f[1] * f[2] * f[3] };
};

const cases: Case[] = [
  ...(['matmul', 'matmul_tA', 'matmul_tB'] as const).map((op): Case => ({
    op,
    label: `${op} ${matSize}x${matSize}x${matSize}`,
    mkn: [matSize, matSize, matSize],
    flops: 2 * matSize ** 3,
  })),
  // attention-shaped batches of products: scores q·kᵀ and weights·v, batch x heads = 32, 256 tokens, 16 per head
  ...(['bmm', 'bmm_tB'] as const).map((op): Case => ({ op, label: `${op} 32x(256x16x256)`, mkn: [256, 16, 256], batch: 32, flops: 2 * 32 * 256 * 16 * 256 })),
  { op: 'bmm', label: 'bmm 32x(256x256x16)', mkn: [256, 256, 16], batch: 32, flops: 2 * 32 * 256 * 256 * 16 },
  ...(['conv_fwd', 'conv_dx', 'conv_dw'] as const).flatMap((op) => [
    convCase(op, quick ? [2, 16, 16, 32] : [8, 32, 32, 64], quick ? [3, 3, 32, 32] : [3, 3, 64, 64], 1),
    convCase(op, quick ? [2, 16, 16, 32] : [8, 32, 32, 64], quick ? [3, 3, 32, 64] : [3, 3, 64, 128], 2),
  ]),
];

// CPU time of this process (both sides run one thread), best of several reps: on a shared 2-core machine
// wall time mostly measures the neighbours, CPU time the kernel
const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const timeIt = (run: () => void): number => {
  run();
  let best = Infinity;
  const started = performance.now();
  for (let reps = 0; reps < 3 || (performance.now() - started < 600 && reps < 20); reps++) {
    const t0 = cpuSeconds();
    run();
    best = Math.min(best, cpuSeconds() - t0);
  }
  return best;
};

/** one tfjs kernel call for a case; returns undefined when the backend has no such kernel */
const tfjsSeconds = (c: Case): number | undefined => {
  const pad = 'same';
  return tf.tidy(() => {
    if (c.mkn !== undefined && c.batch !== undefined) {
      const [m, k, n] = c.mkn;
      const a = tf.randomNormal([c.batch, m, k]);
      const b = c.op === 'bmm_tB' ? tf.randomNormal([c.batch, n, k]) : tf.randomNormal([c.batch, k, n]);
      return timeIt(() => tf.matMul(a, b, false, c.op === 'bmm_tB').dispose());
    }
    if (c.mkn !== undefined) {
      const [m, k, n] = c.mkn;
      const a = c.op === 'matmul_tA' ? tf.randomNormal([k, m]) : tf.randomNormal([m, k]);
      const b = c.op === 'matmul_tB' ? tf.randomNormal([n, k]) : tf.randomNormal([k, n]);
      return timeIt(() => tf.matMul(a, b, c.op === 'matmul_tA', c.op === 'matmul_tB').dispose());
    }
    if (c.x === undefined || c.f === undefined || c.stride === undefined) throw new Error(`bad case ${c.label}`);
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const w = tf.randomNormal(c.f) as tf.Tensor4D;
    const stride = c.stride;
    const dy = tf.conv2d(x, w, stride, pad);
    if (c.op === 'conv_fwd') return timeIt(() => tf.conv2d(x, w, stride, pad).dispose());
    if (c.op === 'conv_dx') return timeIt(() => tf.conv2dTranspose(dy, w, c.x as [number, number, number, number], stride, pad).dispose());
    if (tf.getKernel(tf.Conv2DBackpropFilter, tf.getBackend()) === undefined) return undefined;
    return timeIt(() =>
      (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: [stride, stride], pad, dataFormat: 'NHWC', filterShape: c.f as number[] }) as tf.Tensor).dispose(),
    );
  });
};

// a persistent PyTorch peer answering one case per line, so that tfjs and torch are timed in alternation
const torchScript = `
import json, sys, time, torch
torch.set_num_threads(1)
def time_it(run):
    run(); best = float('inf'); start = time.perf_counter(); reps = 0
    while reps < 3 or (time.perf_counter() - start < 0.6 and reps < 20):
        t0 = time.process_time(); run(); best = min(best, time.process_time() - t0); reps += 1
    return best
print(json.dumps({'torch': torch.__version__}), flush=True)
for line in sys.stdin:
    c = json.loads(line); op = c['op']
    with torch.no_grad():
        if 'batch' in c:
            m, k, n = c['mkn']; B = c['batch']
            a = torch.randn(B, m, k)
            b = torch.randn(B, n, k) if op == 'bmm_tB' else torch.randn(B, k, n)
            fb = (lambda: b.transpose(1, 2)) if op == 'bmm_tB' else (lambda: b)
            sec = time_it(lambda: torch.bmm(a, fb()))
        elif 'mkn' in c:
            m, k, n = c['mkn']
            a = torch.randn(k, m) if op == 'matmul_tA' else torch.randn(m, k)
            b = torch.randn(n, k) if op == 'matmul_tB' else torch.randn(k, n)
            fa = (lambda: a.t()) if op == 'matmul_tA' else (lambda: a)
            fb = (lambda: b.t()) if op == 'matmul_tB' else (lambda: b)
            sec = time_it(lambda: torch.matmul(fa(), fb()))
        else:
            B, H, W, C = c['x']; kh, kw, ci, co = c['f']; s = c['stride']; p = kh // 2
            x = torch.randn(B, C, H, W); w = torch.randn(co, ci, kh, kw)
            dy = torch.randn_like(torch.nn.functional.conv2d(x, w, stride=s, padding=p))
            if op == 'conv_fwd': sec = time_it(lambda: torch.nn.functional.conv2d(x, w, stride=s, padding=p))
            elif op == 'conv_dx': sec = time_it(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=s, padding=p))
            else: sec = time_it(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=s, padding=p))
    print(json.dumps({'seconds': sec}), flush=True)
`;

interface TorchPeer {
  version: string;
  seconds(c: Case): Promise<number>;
  close(): void;
}

const startTorch = async (): Promise<TorchPeer | undefined> => {
  const child = spawn('/usr/bin/python3', ['-c', torchScript], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown> | undefined> => {
    const { value, done } = await iterator.next();
    return done === true ? undefined : (JSON.parse(value as string) as Record<string, unknown>);
  };
  const hello = await next().catch(() => undefined);
  if (hello === undefined) {
    console.error('pytorch peer did not start');
    return undefined;
  }
  return {
    version: String(hello['torch']),
    seconds: async (c) => {
      child.stdin.write(`${JSON.stringify(c)}\n`);
      const answer = await next();
      return Number(answer?.['seconds']);
    },
    close: () => {
      child.stdin.end();
    },
  };
};

const main = async (): Promise<void> => {
  const info = await selectBackend('wasm');
  const torch = await startTorch();
  const rounds = quick ? 1 : 3;
  const best = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  const before: (number | undefined)[] = cases.map(() => undefined);
  const after: (number | undefined)[] = cases.map(() => undefined);
  const peer: (number | undefined)[] = cases.map(() => undefined);
  // rounds of (original kernels, routed kernels, PyTorch) per case; each cell keeps its best time
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of cases.entries()) {
      unregisterFastKernels('wasm');
      before[i] = best(before[i], tfjsSeconds(c));
      registerFastKernels('wasm');
      after[i] = best(after[i], tfjsSeconds(c));
      if (torch !== undefined) peer[i] = best(peer[i], await torch.seconds(c));
    }
  }
  torch?.close();
  const gflops = (c: Case, s: number | undefined): string => (s === undefined ? 'n/a' : (c.flops / s / 1e9).toFixed(1));
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? 'n/a' : (b / a).toFixed(2));
  console.log(`tfjs ${info.version.tfjs}, wasm ${info.version.backend} (simd ${String(info.details['simd'])}, threads ${String(info.details['threads'])}); PyTorch ${torch?.version ?? 'n/a'} CPU, 1 thread; CPU time per call, best of ${rounds} interleaved rounds`);
  console.log('');
  console.log('| kernel | wasm original GFLOP/s | wasm routed GFLOP/s | PyTorch GFLOP/s | routed / original | routed / PyTorch |');
  console.log('|---|---|---|---|---|---|');
  cases.forEach((c, i) => {
    console.log(`| ${c.label} | ${gflops(c, before[i])} | ${gflops(c, after[i])} | ${gflops(c, peer[i])} | ${ratio(after[i], before[i])} | ${ratio(after[i], peer[i])} |`);
  });
};

await main();
