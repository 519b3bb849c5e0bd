/**
 * The project's documented PRNG: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c)
 * with its 128-bit state filled from splitmix64 (https://prng.di.unimi.it/splitmix64.c).
 *
 * Seeding: a seed is an integer 0 ≤ seed < 2^64 (number up to 2^53 or bigint). Two splitmix64 outputs z1, z2
 * are drawn from `x = seed`; the state is s0 = low32(z1), s1 = high32(z1), s2 = low32(z2), s3 = high32(z2).
 * Derived seeds (`deriveSeed(seed, a, b, ...)`): h = seed; for each label v: h = splitmix64Mix(h ^ v), where
 * splitmix64Mix is splitmix64's output function applied to (x + 0x9e3779b97f4a7c15).
 *
 * Only integer ops and exact float scaling are used, so every machine gives the same stream.
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN64 = 0x9e3779b97f4a7c15n;

/** one splitmix64 step from state x: returns [next state, output] */
export function splitmix64(x: bigint): [bigint, bigint] {
  const next = (x + GOLDEN64) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  z = z ^ (z >> 31n);
  return [next, z];
}

export type Seed = number | bigint;

function toSeed64(seed: Seed, what = 'seed'): bigint {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${seed}`);
    return BigInt(seed);
  }
  if (seed < 0n || seed > MASK64) throw new RangeError(`${what} must be in [0, 2^64), got ${seed}`);
  return seed;
}

/** a 64-bit seed derived from a parent seed and integer labels (split index, image index, ...) */
export function deriveSeed(seed: Seed, ...labels: number[]): bigint {
  let h = toSeed64(seed);
  for (const label of labels) h = splitmix64(h ^ toSeed64(label, 'label'))[1];
  return h;
}

/**
 * A derived seed for an experiment's run seed. `deriveSeed` XORs its first label into the raw seed, so seeds s and
 * s′ give the same derivations whenever s ⊕ s′ = a ⊕ a′: seed 1's stream for step i is seed 0's for step i ⊕ 1, and
 * "three seeds" would replay one run's noise in a shuffled order. That is harmless for the dataset (one seed,
 * pinned by its fingerprints, so it keeps `deriveSeed`) but wrong wherever seeds are compared with each other;
 * hashing the seed first makes the derivations of different seeds unrelated.
 */
export function deriveRunSeed(seed: Seed, ...labels: number[]): bigint {
  return deriveSeed(splitmix64(toSeed64(seed) ^ RUN_SEED_DOMAIN)[1], ...labels);
}

/** separates run-seed derivations from dataset ones ("vsdlrun\0" in ASCII) */
const RUN_SEED_DOMAIN = 0x7673646c72756e00n;

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Xoshiro128ss {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** raw state, for tests against the reference; prefer `fromSeed` */
  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
    // the all-zero state is a fixed point of xoshiro; splitmix64 seeding never yields it in practice
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromSeed(seed: Seed): Xoshiro128ss {
    const [x1, z1] = splitmix64(toSeed64(seed));
    const [, z2] = splitmix64(x1);
    const lo = (z: bigint): number => Number(z & 0xffffffffn);
    const hi = (z: bigint): number => Number(z >> 32n);
    return new Xoshiro128ss(lo(z1), hi(z1), lo(z2), hi(z2));
  }

  /** next uint32 (the reference `next()`) */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** uniform double in [0, 1) with 53 random bits: (a >>> 5) · 2^26 + (b >>> 6), scaled by 2^-53 */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** uniform integer in [0, n), unbiased: draws below 2^32 - (2^32 mod n) only, then mod n */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError(`nextInt bound must be in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** uniform double in [lo, hi) */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextFloat();
  }

  /** one element, uniformly */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.nextInt(items.length)] as T;
  }

  /** k distinct indices of [0, n) in draw order (partial Fisher–Yates: step i swaps i with i + nextInt(n - i)) */
  sampleIndices(n: number, k: number): number[] {
    if (k > n || k < 0) throw new RangeError(`cannot sample ${k} of ${n}`);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.nextInt(n - i);
      const tmp = idx[i] as number;
      idx[i] = idx[j] as number;
      idx[j] = tmp;
    }
    return idx.slice(0, k);
  }
}
