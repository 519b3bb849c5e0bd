import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizePillow, resizePillowF32, resizePillowU8 } from '../../../src/metrics/image/pillow-resample.js';
import { torchBilinear, torchBilinearAntialias } from '../../../src/metrics/image/torch-interpolate.js';
import { tf1Bilinear } from '../../../src/metrics/image/tf1-bilinear.js';
import type { PillowFilter } from '../../../src/metrics/image/types.js';
import { bytes, floats, hwcToChw, maxAbsDiff, maxUlpDiff, readGolden, type GoldenInput } from './goldens.js';

interface Case {
  input: string;
  width: number;
  height: number;
  data: string;
}
interface ResizeGolden {
  inputs: Record<string, GoldenInput>;
  floatInputs: Record<string, GoldenInput>;
  pillowU8: (Case & { channels: number; filter: PillowFilter })[];
  pillowF32: (Case & { filter: PillowFilter })[];
  torchBilinear: (Case & { scale: '01' | '255'; antialias: boolean; capability: 'native' | 'default' })[];
  tf1Bilinear: Case[];
  fuzzU8: { input: GoldenInput; filter: PillowFilter; width: number; height: number; data: string }[];
}

const golden = readGolden<ResizeGolden>('resize.json');
const input = (name: string): GoldenInput => {
  const g = golden.inputs[name];
  assert.ok(g, `missing input ${name}`);
  return g;
};
const label = (c: Case): string => {
  const i = input(c.input);
  return `${i.width}x${i.height}→${c.width}x${c.height}`;
};

// pick channel(s) out of an interleaved 3-channel uint8 image
function channelsOf(src: Uint8Array, first: number, count: number): Uint8Array {
  const n = src.length / 3;
  const out = new Uint8Array(n * count);
  for (let i = 0; i < n; i++) for (let c = 0; c < count; c++) out[i * count + c] = src[i * 3 + first + c]!;
  return out;
}

test('pillow uint8 resize is bit-exact (RGB and L, bicubic/lanczos/bilinear, up/down/odd/1-px)', () => {
  assert.ok(golden.pillowU8.length >= 60);
  for (const c of golden.pillowU8) {
    const i = input(c.input);
    const src = c.channels === 3 ? bytes(i.data) : channelsOf(bytes(i.data), 1, 1);
    const got = resizePillowU8(src, i.width, i.height, c.channels, c.width, c.height, c.filter);
    const want = bytes(c.data);
    assert.equal(got.length, want.length);
    assert.equal(maxAbsDiff(got, want), 0, `${c.filter} ${label(c)} channels=${c.channels}`);
  }
});

test('pillow uint8 resize is bit-exact on 40 random size pairs (1..24 px each way)', () => {
  assert.equal(golden.fuzzU8.length, 40);
  for (const c of golden.fuzzU8) {
    const i = c.input;
    const got = resizePillowU8(bytes(i.data), i.width, i.height, 3, c.width, c.height, c.filter);
    assert.equal(maxAbsDiff(got, bytes(c.data)), 0, `${c.filter} ${i.width}x${i.height}→${c.width}x${c.height}`);
  }
});

test('pillow float32 (mode F) resize matches to 1e-5 (is bit-exact in practice)', () => {
  let worst = 0;
  for (const c of golden.pillowF32) {
    const i = golden.floatInputs[c.input]!;
    const plane = floats(i.data);
    assert.equal(i.channels, 1);
    const got = resizePillowF32(plane, i.width, i.height, c.width, c.height, c.filter);
    const d = maxAbsDiff(got, floats(c.data));
    worst = Math.max(worst, d);
    assert.ok(d <= 1e-5, `${c.filter} ${label(c)}: max abs diff ${d}`);
  }
  assert.ok(worst <= 1e-5);
});

// torch's default vs AVX2 builds of the same kernel differ by up to this many float32 ulps (measured: 3)
const CROSS_KERNEL_ULP = 3;

test('torch bilinear (antialias off/on) matches torch 1.13 bit for bit on both CPU kernels (fma / default)', () => {
  let worstCross = 0;
  let n = 0;
  for (const c of golden.torchBilinear) {
    const i = input(c.input);
    const data = hwcToChw(bytes(i.data), i.width, i.height, 3, c.scale === '01' ? 255 : 1);
    const img = { width: i.width, height: i.height, channels: 3, data };
    const want = floats(c.data);
    const where = `antialias=${c.antialias} scale=${c.scale} ${c.capability} ${label(c)}`;
    const run = (fma: boolean): Float32Array =>
      (c.antialias ? torchBilinearAntialias(img, c.width, c.height, { fma }) : torchBilinear(img, c.width, c.height, { fma })).data;
    // goldens: 'native' is this machine's AVX2/AVX-512 build, 'default' the plain one
    const native = c.capability === 'native';
    assert.equal(maxUlpDiff(run(native), want), 0, where);
    const d = maxUlpDiff(run(!native), want);
    assert.ok(d <= CROSS_KERNEL_ULP, `${where} with the other kernel: ${d} ulp`);
    worstCross = Math.max(worstCross, d);
    n++;
  }
  assert.ok(n >= 52, `torch cases: ${n}`);
  assert.ok(worstCross > 0, 'the two torch kernels do differ, so the goldens tell them apart');
});

test('tf1 bilinear matches torch-fidelity slow path to 1e-5', () => {
  for (const c of golden.tf1Bilinear) {
    const i = input(c.input);
    const img = { width: i.width, height: i.height, channels: 3, data: hwcToChw(bytes(i.data), i.width, i.height, 3) };
    const d = maxAbsDiff(tf1Bilinear(img, c.width, c.height).data, floats(c.data));
    assert.ok(d <= 1e-5, `${label(c)}: max abs diff ${d}`);
  }
});

test('resizePillow (RgbImage in and out) is the uint8 path', () => {
  const c = golden.pillowU8.find((x) => x.channels === 3 && x.filter === 'lanczos' && x.input === 'g64x48');
  assert.ok(c);
  const i = input(c.input);
  const out = resizePillow({ width: i.width, height: i.height, data: bytes(i.data) }, c.width, c.height, 'lanczos');
  assert.deepEqual([out.width, out.height], [c.width, c.height]);
  assert.equal(maxAbsDiff(out.data, bytes(c.data)), 0);
});

test('resizers reject bad sizes and buffer lengths', () => {
  assert.throws(() => resizePillowU8(new Uint8Array(6), 2, 1, 3, 0, 1, 'bicubic'), RangeError);
  assert.throws(() => resizePillowU8(new Uint8Array(5), 2, 1, 3, 1, 1, 'bicubic'), RangeError);
  assert.throws(() => resizePillowF32(new Float32Array(3), 2, 2, 1, 1, 'lanczos'), RangeError);
  assert.throws(() => torchBilinear({ width: 2, height: 2, channels: 1, data: new Float32Array(3) }, 1, 1), RangeError);
});
