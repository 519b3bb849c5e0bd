import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { EXP_FRACTION, GELU_C, GELU_K } from '../../src/tensor/fast-math.js';
import type { ActivationExports } from '../../src/tensor/activation-wasm.js';
import type { JsKernel } from '../../src/tensor/js-kernels.js';
import * as js from './activation-wasm-js-reference.js';
import { tempDir } from '../helpers/temp.js';
import { rng } from '../helpers/random-arrays.js';

// float32 outputs hide most reorderings of the double arithmetic (a last-bit difference in a double changes the
// rounded float32 about once in 2^29), so this test compares the doubles themselves: assembly/activation.ts built
// with every store writing the unrounded double (to twice the float's address) against the frozen JS kernels
// writing into Float64Arrays. it fails for any change in the order of the operations (c·g·g·g as c·(g·g·g), …).

const root = fileURLToPath(new URL('../../../assembly/', import.meta.url));

/** assembly/activation.ts with its two store helpers writing doubles, compiled as scripts/build-wasm.js does */
const buildDoubleVariant = async (): Promise<WebAssembly.Module> => {
  let source = readFileSync(join(root, 'activation.ts'), 'utf8');
  const swap = (from: string, to: string): void => {
    assert.equal(source.split(from).length, 2, `assembly/activation.ts no longer holds ${from}`);
    source = source.replace(from, to);
  };
  swap('store<f32>(p, <f32>v);', 'store<f64>(p << 1, v);');
  swap('v128.store(p, f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));', 'v128.store(p << 1, lo);\n  v128.store((p << 1) + 16, hi);');
  assert.ok(!source.includes('demote') && !source.includes('store<f32>'), 'every store writes a double');
  const dir = tempDir({ 'activation.ts': source, '_fast-exp.ts': readFileSync(join(root, '_fast-exp.ts'), 'utf8') });
  const out = join(dir, 'activation.wasm');
  const { error, stderr } = await asc.main([join(dir, 'activation.ts'), '-o', out, '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--importMemory', '--noExportMemory'], {});
  assert.equal(error, null, String(stderr));
  return new WebAssembly.Module(readFileSync(out));
};

const EXTREMES = [0, -0, 1e-45, -1e-40, 1.1754944e-38, 1e-30, -0.5, 1, 20, -88.7, 103.9, 700, -700.0001, 745.2, -1e4, 1e13, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN];

/** n floats: scale·U(−½, ½), every 97th an extreme */
const inputs = (n: number, seed: number, scale: number): Float32Array => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? EXTREMES[(i / 97) % EXTREMES.length]! : scale * next()));
};

test('wasm activation kernels: the doubles before the float32 rounding equal the JS kernels', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const k = new WebAssembly.Instance(await buildDoubleVariant(), { env: { memory } }).exports as unknown as ActivationExports;
  new Float64Array(memory.buffer, 0, EXP_FRACTION.length).set(EXP_FRACTION);
  const base = 256;
  /** the kernel on copies of `ins`: its doubles (outputs at 2·Y, Y ≥ the output's float bytes, above the inputs) */
  const wasmDoubles = (ins: Float32Array[], n: number, call: (offsets: number[], y: number) => void): Float64Array => {
    let at = base;
    const offsets = ins.map((a) => {
      const p = at;
      at += Math.ceil((4 * a.length) / 16) * 16;
      return p;
    });
    const y = Math.max(at, 4 * n);
    const need = Math.ceil((2 * y + 8 * n) / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
    ins.forEach((a, i) => new Float32Array(memory.buffer, offsets[i]!, a.length).set(a));
    call(offsets, y);
    return new Float64Array(memory.buffer, 2 * y, n).slice();
  };
  const jsDoubles = (kernel: JsKernel, ins: Float32Array[], shapes: number[][], n: number): Float64Array => {
    const out = new Float64Array(n);
    kernel.run(ins, [out as unknown as Float32Array], shapes, {});
    return out;
  };
  let compared = 0;
  const same = (got: Float64Array, want: Float64Array, label: string): void => {
    const g = new BigUint64Array(got.buffer);
    const w = new BigUint64Array(want.buffer);
    for (let i = 0; i < g.length; i++) {
      if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) assert.fail(`${label}[${i}]: ${got[i]} vs ${want[i]}`);
    }
    compared += g.length;
  };
  // lengths and widths that take every path: blocks of 8, a block of 4, a tail of 1 to 3
  for (const [n, scale] of [[200_003, 20], [200_005, 1600], [200_006, 30]] as const) {
    const x = inputs(n, n, scale);
    const dy = inputs(n, n + 1, 8);
    same(wasmDoubles([x], n, ([px], y) => k.silu(px!, y, n, 0)), jsDoubles(js.siluKernel, [x], [[n]], n), `silu ${n}`);
    same(wasmDoubles([dy, x], n, ([pdy, px], y) => k.siluGrad(pdy!, px!, y, n, 0)), jsDoubles(js.siluGradKernel, [dy, x], [[n], [n]], n), `siluGrad ${n}`);
  }
  for (const [rows, D, scale] of [[800, 128, 12], [800, 131, 200], [601, 7, 12], [601, 13, 30], [401, 12, 200]] as const) {
    const x = inputs(rows * 2 * D, rows + D, scale);
    const dy = inputs(rows * D, rows + D + 1, 8);
    same(wasmDoubles([x], rows * D, ([px], y) => k.geglu(px!, y, rows, D, GELU_K, GELU_C, 0)), jsDoubles(js.gegluKernel, [x], [[rows, 2 * D]], rows * D), `geglu ${rows}x${D}`);
    same(wasmDoubles([dy, x], rows * 2 * D, ([pdy, px], y) => k.gegluGrad(pdy!, px!, y, rows, D, GELU_K, GELU_C, 0)), jsDoubles(js.gegluGradKernel, [dy, x], [[rows, D], [rows, 2 * D]], rows * 2 * D), `gegluGrad ${rows}x${D}`);
  }
  assert.ok(compared > 1_500_000, `${compared} doubles compared`);
});
