import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromRoot } from '../helpers/paths.js';

/**
 * Replaces what changes between machines and runs with stable tokens: each distinct hash becomes
 * `<hash-N>` in order of appearance (so distinct columns stay distinct), times become `<time>`.
 */
export function normalise(text: string): string {
  const seen = new Map<string, string>();
  const token = (kind: string, value: string): string => {
    const key = `${kind}:${value}`;
    if (!seen.has(key)) seen.set(key, `<${kind}-${[...seen.keys()].filter((k) => k.startsWith(`${kind}:`)).length + 1}>`);
    return seen.get(key) ?? value;
  };
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b[0-9a-f]{64}\b/g, (h) => token('sha256', h))
    .replace(/(?<=[-@[])[0-9a-f]{8}\b/g, (h) => token('h8', h));
}

/** Compares with test/report/__snapshots__/<name>; UPDATE_SNAPSHOTS=1 rewrites it instead. */
export function matchSnapshot(name: string, actual: string): void {
  const path = fromRoot('test', 'report', '__snapshots__', name);
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `no snapshot ${path}: run the test with UPDATE_SNAPSHOTS=1 once and review the file`);
  assert.equal(actual, readFileSync(path, 'utf8'), `${name} differs from its snapshot (UPDATE_SNAPSHOTS=1 rewrites it after review)`);
}
