// numpy's legacy np.random.RandomState(seed): MT19937 with numpy's integer seeding, and the permutation / choice
// (replace=False, no p) draws built on it, reproduced draw for draw.
import { BadInputError } from '../../errors.js';

const N = 624;
const M = 397;

export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** seed: an integer in [0, 2**32 - 1], as RandomState(seed) / np.random.seed(seed) accept. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new BadInputError('STATS_BAD_SEED', `seed must be an integer between 0 and 2**32 - 1, got ${seed}`);
    }
    // numpy's mt19937_seed: the reference init_genrand recurrence
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]!;
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  private refill(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
      mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** the next raw 32-bit output (tempered), an integer in [0, 2**32). */
  nextUint32(): number {
    if (this.index >= N) this.refill();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's random_interval(max) for max < 2**32: masked rejection sampling of uniform integers in [0, max]. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** RandomState.permutation(n): arange(n) shuffled by the legacy fisher-yates (i from n-1 down to 1). */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new BadInputError('STATS_BAD_OPTION', `permutation size must be a non-negative integer, got ${n}`);
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    for (let i = n - 1; i >= 1; i--) {
      const j = this.interval(i);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** RandomState.choice(n, size, replace=False): the legacy code takes the first `size` of permutation(n). */
  choiceWithoutReplacement(n: number, size: number): Int32Array {
    if (!Number.isInteger(size) || size < 0 || size > n) {
      throw new BadInputError('STATS_BAD_OPTION', `cannot take ${size} samples without replacement from ${n}`);
    }
    return this.permutation(n).slice(0, size);
  }
}
