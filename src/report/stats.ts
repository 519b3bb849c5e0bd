import { createHash } from 'node:crypto';
import type { Interval } from './types.js';

export const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Sample standard deviation (divides by n − 1, as papers' "± std over seeds" does); null below two values. */
export function sampleStd(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null || xs.length < 2) return null;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** mulberry32: small, fast, and the same stream on every platform */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a 32-bit seed from a base seed and a label, so each (row, column) draws its own reproducible stream */
export const seedFor = (seed: number, label: string): number => createHash('sha256').update(`${seed}:${label}`).digest().readUInt32LE(0);

/** Linear-interpolated quantile (numpy's default) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? NaN;
  const b = sorted[hi] ?? NaN;
  return a + (b - a) * (pos - lo);
}

/**
 * Percentile bootstrap interval of the mean: resample the values with replacement `resamples` times and take
 * the (1 − level)/2 and (1 + level)/2 quantiles of the resampled means. Null below two values.
 */
export function bootstrapMeanCi(xs: readonly number[], options: { level: number; resamples: number; seed: number }): Interval | null {
  if (xs.length < 2) return null;
  const random = seededRandom(options.seed);
  const means: number[] = [];
  for (let b = 0; b < options.resamples; b++) {
    let sum = 0;
    for (let i = 0; i < xs.length; i++) sum += xs[Math.floor(random() * xs.length)] ?? 0;
    means.push(sum / xs.length);
  }
  means.sort((a, b) => a - b);
  const tail = (1 - options.level) / 2;
  return { low: quantile(means, tail), high: quantile(means, 1 - tail) };
}
