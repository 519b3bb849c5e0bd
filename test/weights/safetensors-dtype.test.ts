import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToFloat32, f16ToFloat32, floatToBf16, floatToHalf, halfToFloat } from '../../src/weights/safetensors-dtype.js';
import { bytesOf } from '../helpers/safetensors-files.js';

const f16 = (bits: number[]): number[] => Array.from(f16ToFloat32(bytesOf(new Uint16Array(bits))));
const bf16 = (bits: number[]): number[] => Array.from(bf16ToFloat32(bytesOf(new Uint16Array(bits))));

test('F16 → float32 by hand: normals, extremes, subnormals, signed zeros, infinities, NaN', () => {
  // 0x3555 = (1 + 341/1024) × 2^-2; 0x7bff = (2 - 2^-10) × 2^15, the largest half
  assert.deepEqual(f16([0x3c00, 0xc000, 0x3555, 0x7bff, 0xfbff]), [1, -2, 0.333251953125, 65504, -65504]);
  // subnormals are m × 2^-24: the smallest, the largest; then the smallest normal 2^-14
  assert.deepEqual(f16([0x0001, 0x8001, 0x03ff, 0x0400]), [2 ** -24, -(2 ** -24), 1023 * 2 ** -24, 2 ** -14]);
  const [zero, negZero, inf, negInf, nan, nanPayload, negNan] = f16([0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfe00]);
  assert.ok(Object.is(zero, 0) && Object.is(negZero, -0), 'signed zeros keep their sign');
  assert.equal(inf, Infinity);
  assert.equal(negInf, -Infinity);
  assert.ok(Number.isNaN(nan) && Number.isNaN(nanPayload) && Number.isNaN(negNan));
});

test('BF16 → float32 by hand: the bits are the high half of a float32', () => {
  // 0x3eaa0000 = 1.328125 × 2^-2; 0x40490000 = 1.5703125 × 2
  assert.deepEqual(bf16([0x3f80, 0xc040, 0x3eaa, 0x4049, 0x7f7f]), [1, -3, 0.33203125, 3.140625, 0x1fe * 2 ** 119]);
  assert.deepEqual(bf16([0x0001, 0x007f, 0x0080]), [2 ** -133, 127 * 2 ** -133, 2 ** -126], 'float32 subnormals, then the smallest normal');
  const [zero, negZero, inf, negInf, nan] = bf16([0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0]);
  assert.ok(Object.is(zero, 0) && Object.is(negZero, -0));
  assert.equal(inf, Infinity);
  assert.equal(negInf, -Infinity);
  assert.ok(Number.isNaN(nan));
});

test('every F16 and BF16 bit pattern survives float32 and back (the writers used for fixtures are exact inverses)', () => {
  for (let h = 0; h < 65536; h++) {
    const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    const v = halfToFloat(h);
    if (isNan) assert.ok(Number.isNaN(v) && Number.isNaN(halfToFloat(floatToHalf(v))));
    else assert.equal(floatToHalf(v), h, `F16 0x${h.toString(16)}`);
    const b = bf16([h])[0]!;
    if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) assert.ok(Number.isNaN(b));
    else assert.equal(floatToBf16(b), h, `BF16 0x${h.toString(16)}`);
  }
});

test('float32 → F16 rounds to nearest even, overflowing to infinity and underflowing to signed zero', () => {
  assert.equal(floatToHalf(1 / 3), 0x3555);
  assert.equal(floatToHalf(65519), 0x7bff, 'below the midpoint to 65536 stays finite');
  assert.equal(floatToHalf(65520), 0x7c00, 'the midpoint rounds to even: infinity');
  assert.equal(floatToHalf(2 ** -25), 0x0000, 'half the smallest subnormal ties to even: zero');
  assert.equal(floatToHalf(1.5 * 2 ** -24), 0x0002, '1.5 ulp ties to even: 2');
  assert.equal(floatToHalf(-(2 ** -26)), 0x8000);
  assert.equal(floatToBf16(1 + 2 ** -8), 0x3f80, 'a tie rounds to the even mantissa');
  assert.equal(floatToBf16(1 + 3 * 2 ** -8), 0x3f82);
});
