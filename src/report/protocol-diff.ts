import type { Protocol } from '../tracking/results.js';

const show = (v: unknown): string => (v === undefined ? '(absent)' : v === null ? '(unstated)' : typeof v === 'string' ? v : JSON.stringify(v));

/** "n_samples: 3 vs 6" for every key whose value differs between two protocols, in sorted key order */
export function protocolDiff(a: Protocol, b: Protocol): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${show(a[k])} vs ${show(b[k])}`);
}

/**
 * Why a paper's number cannot sit beside ours: every key the paper's protocol states must be stated by ours
 * with the same value; a key the paper leaves unstated (null) makes the pair incomparable too.
 */
export function incomparableReasons(paper: Protocol, ours: Protocol): string[] {
  const reasons: string[] = [];
  for (const key of Object.keys(paper).sort()) {
    const p = paper[key];
    const o = ours[key];
    if (p === null) reasons.push(`${key}: the paper does not state it`);
    else if (o === undefined) reasons.push(`${key}: ${show(p)} in the paper, not recorded in ours`);
    else if (JSON.stringify(p) !== JSON.stringify(o)) reasons.push(`${key}: ${show(p)} in the paper vs ${show(o)} in ours`);
  }
  return reasons;
}
