// CPU per call of the batched products a VSD step at the embedded width (patch 2) sends to tfjs-backend-wasm's
// naive batched loop (the attention's q·kᵀ, attn·v and their gradients, head dim 8, 16 tokens, 24 text tokens),
// through the routed BatchMatMul: the backend's own loop (transposes materialised first) vs the SIMD kernel with
// the same bits (assembly/matmul.ts), alternating in one process, round by round. process CPU: the machine is shared.
// run: npm run build && node dist/bench/tensor/attention-matmul.js [--rounds 5 --calls 200]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../../src/tensor/index.js';
import { setMatMulKernels, type MatMulKernels } from '../../src/tensor/fast-matmul.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, calls: { type: 'string', default: '200' } } });
const rounds = Number(opts.rounds);
const calls = Number(opts.calls);

// [a shape, b shape, transposeA, transposeB]
const SHAPES: [number[], number[], boolean, boolean][] = [
  [[16, 4, 16, 8], [16, 4, 16, 8], false, true], // self-attention q·kᵀ
  [[16, 4, 16, 16], [16, 4, 16, 8], false, false], // attn·v
  [[16, 4, 16, 16], [16, 4, 16, 8], true, false], // gradient of v: attnᵀ·dout
  [[16, 4, 16, 24], [16, 4, 16, 8], true, false], // cross-attention gradient, 24 text tokens
  [[32, 4, 16, 8], [32, 4, 24, 8], false, true], // cross-attention q·kᵀ, batch 2B (guidance)
  [[32, 4, 16, 8], [32, 4, 16, 8], false, true],
  [[32, 4, 16, 24], [32, 4, 24, 8], false, false],
  [[32, 4, 16, 16], [32, 4, 16, 8], false, false],
];

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

await selectBackend('wasm');
const inputs = SHAPES.map(([sa, sb]) => [tf.randomNormal(sa, 0, 1, 'float32', 1), tf.randomNormal(sb, 0, 1, 'float32', 2)] as const);
const time = (kernel: MatMulKernels, s: number): number => {
  setMatMulKernels(kernel);
  const [a, b] = inputs[s]!;
  const [, , ta, tb] = SHAPES[s]!;
  const t0 = cpuMs();
  for (let c = 0; c < calls; c++) tf.matMul(a, b, ta, tb).dispose();
  return ((cpuMs() - t0) * 1000) / calls;
};
// warm-up (xnnpack / kernel setup, module instantiation)
for (let s = 0; s < SHAPES.length; s++) for (const k of ['backend', 'simd'] as const) time(k, s);
const sums = SHAPES.map(() => ({ backend: 0, simd: 0 }));
for (let r = 0; r < rounds; r++) {
  for (let s = 0; s < SHAPES.length; s++) {
    const order: MatMulKernels[] = r % 2 === 0 ? ['backend', 'simd'] : ['simd', 'backend'];
    for (const k of order) sums[s]![k] += time(k, s);
  }
}
setMatMulKernels('simd');
console.log(`CPU µs per call, mean of ${rounds} alternating rounds of ${calls} calls`);
console.log('a · b (transposes)                                  flop/product   backend      simd   ratio');
SHAPES.forEach(([sa, sb, ta, tb], s) => {
  const m = ta ? sa[3]! : sa[2]!;
  const k = ta ? sa[2]! : sa[3]!;
  const n = tb ? sb[2]! : sb[3]!;
  const { backend, simd } = sums[s]!;
  const label = `[${sa.join(',')}]${ta ? 'ᵀ' : ''} · [${sb.join(',')}]${tb ? 'ᵀ' : ''}`;
  console.log(`${label.padEnd(52)}${String(2 * m * k * n).padStart(12)}${(backend / rounds).toFixed(1).padStart(10)}${(simd / rounds).toFixed(1).padStart(10)}${(backend / simd).toFixed(2).padStart(8)}x`);
});
