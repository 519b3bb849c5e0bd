// tf.randomNormal's exact values, drawn faster. tfjs fills a TensorBuffer one element at a time from
// MPRandGauss.nextValue(), which calls seedrandom's alea closure twice per attempt (≈ 29 ns a value). the same
// algorithm here runs as tight loops over typed arrays with alea's state in locals (≈ 17 ns), and returns
// bit-identical tensors for every seed, shape, mean, std and dtype (test/tensor/random-normal.test.ts).
//
// what has to match (tfjs-core 4.22 ops/random_normal.js + ops/rand_util.js, seedrandom 3.0.5 lib/alea.js):
// - the seed: `seed ? seed : Math.random()`, then alea(String(seed)); 0 and NaN count as unseeded
// - alea's Mash seeding and its step t = 2091639·s0 + c·2^-32, s2 = t − (c = t | 0), all in doubles
// - the Marsaglia polar loop: v = 2·u − 1 twice until 0 < s < 1, mul = √(−2·ln s / s), x = mean + std·v1·mul
//   (left to right), y likewise; x is returned, y kept for the next value unless it is NaN (tfjs tests isNaN)
// - int32: Math.round on both; the store into Float32Array / Int32Array does the final rounding / ToInt32
// - the tensor made once by the engine, as TensorBuffer.toTensor does
import * as tf from '@tensorflow/tfjs';

export type RandomNormalDtype = 'float32' | 'int32';

const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

/** seedrandom's Mash over one string, its running hash carried between calls as alea seeds from it */
class Mash {
  private n = 0xefc8249d;

  hash(data: string): number {
    let n = this.n;
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    this.n = n;
    return (n >>> 0) * TWO_POW_MINUS_32;
  }
}

/** alea's initial state for a seed string, as seedrandom.alea(seed) sets it */
const aleaState = (seed: string): [number, number, number] => {
  const mash = new Mash();
  let s0 = mash.hash(' ');
  let s1 = mash.hash(' ');
  let s2 = mash.hash(' ');
  s0 -= mash.hash(seed);
  if (s0 < 0) s0 += 1;
  s1 -= mash.hash(seed);
  if (s1 < 0) s1 += 1;
  s2 -= mash.hash(seed);
  if (s2 < 0) s2 += 1;
  return [s0, s1, s2];
};

// the draws run in chunks: first the polar loop's accepted pairs (v1, v2, s) into scratch, then ln/√ over the chunk.
// alea's carry makes each draw wait for the one before (≈ 7 ns a draw); apart from it the ln/√ pass overlaps freely
// and keeps its registers (≈ 20 % less CPU than one fused loop). which draws pair up depends on the draws alone,
// so the order of the values is tfjs's; pairs drawn past the last value tfjs would use are simply left unused.
const CHUNK = 1024;
const V1 = new Float64Array(CHUNK);
const V2 = new Float64Array(CHUNK);
const S = new Float64Array(CHUNK);

/**
 * fills `out` with the values tf.randomNormal(shape, mean, stdDev, dtype, seed) holds (out.length = its size);
 * `round` is the int32 branch (tfjs rounds each value before the store). a Float64Array receives the doubles
 * before tfjs's float32 store (the tests compare those, as float32 rounding hides last-bit differences)
 */
export const fillRandomNormal = (out: Float32Array | Float64Array | Int32Array, mean: number, stdDev: number, round: boolean, seed: number | undefined): void => {
  const seedValue = seed ? seed : Math.random();
  let [s0, s1, s2] = aleaState(String(seedValue));
  // alea's carry c, kept as c·2^-32: t ≥ 0, so Math.floor(t) is alea's t | 0 and every product here is exact
  // (integers below 2^53 times powers of two); floor → multiply is a shorter dependency chain than | 0 → int → double
  let carry = TWO_POW_MINUS_32;
  const n = out.length;
  let i = 0;
  while (i < n) {
    // each pair gives one or two values, so this many never run past the end
    const pairs = Math.min(CHUNK, (n - i + 1) >> 1);
    for (let k = 0; k < pairs; k++) {
      let v1: number;
      let v2: number;
      let s: number;
      do {
        let t = 2091639 * s0 + carry;
        let whole = Math.floor(t);
        s0 = s1;
        s1 = s2;
        s2 = t - whole;
        carry = whole * TWO_POW_MINUS_32;
        v1 = 2 * s2 - 1;
        t = 2091639 * s0 + carry;
        whole = Math.floor(t);
        s0 = s1;
        s1 = s2;
        s2 = t - whole;
        carry = whole * TWO_POW_MINUS_32;
        v2 = 2 * s2 - 1;
        s = v1 * v1 + v2 * v2;
      } while (s >= 1 || s === 0);
      V1[k] = v1;
      V2[k] = v2;
      S[k] = s;
    }
    for (let k = 0; k < pairs; k++) {
      const s = S[k]!;
      const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
      let x = mean + stdDev * V1[k]! * mul;
      let y = mean + stdDev * V2[k]! * mul;
      if (round) {
        x = Math.round(x);
        y = Math.round(y);
      }
      out[i++] = x;
      // tfjs keeps y for the next value only when it is not NaN; otherwise the next value takes the next pair
      if (y === y && i < n) out[i++] = y;
    }
  }
};

/** tf.randomNormal(shape, mean, stdDev, dtype, seed) with the same values, bit for bit */
export const randomNormal = <R extends tf.Rank>(
  shape: tf.ShapeMap[R],
  mean = 0,
  stdDev = 1,
  dtype?: RandomNormalDtype,
  seed?: number,
): tf.Tensor<R> => {
  const dims = shape as number[];
  // tfjs's own checks (assertNonNegativeIntegerDimensions; 'bool' is refused at run time though typed out)
  for (const d of dims) {
    if (!(Number.isInteger(d) && d >= 0)) throw new Error(`Tensor must have a shape comprised of positive integers but got shape [${dims}].`);
  }
  if ((dtype as string | undefined) === 'bool') throw new Error(`Unsupported data type ${dtype}`);
  const resolved: RandomNormalDtype = dtype ?? 'float32';
  const size = dims.reduce((a, b) => a * b, 1);
  const values = resolved === 'int32' ? new Int32Array(size) : new Float32Array(size);
  fillRandomNormal(values, mean, stdDev, resolved === 'int32', seed);
  return tf.engine().makeTensor(values, dims, resolved) as tf.Tensor<R>;
};
