import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { writeShardWorld } from '../helpers/shard-world.js';
import { readShardState, shardStatePath } from '../../src/metrics/shards/index.js';
import { mergeAndScore, readShardSpec, runShard, writeShardSpec } from '../../src/metrics/evaluation/sharded-evaluation.js';

const dir = tempDir();
const world = writeShardWorld(dir, { images: 40, reference: 30, size: 48 });

const metricArgs = (out: string, cache: string, extra: readonly string[] = []): string[] => [
  'shards', 'run', out,
  '--images', join(dir, 'gen'), '--captions', join(dir, 'captions.txt'),
  '--inception', join(dir, 'perception.onnx'),
  '--fid-reference', join(dir, 'ref'), '--kid-reference', join(dir, 'ref'), '--kid-subsets', '4', '--kid-subset-size', '10',
  '--clip', join(dir, 'clip'), '--batch-size', '7', '--cache', cache, '--json', ...extra,
];

/**
 * KID and CLIP from bit-identical rows and cosines; the moments differ from one stream's only by the merge's rounding
 * (1e-12 of their scale, test/metrics/shards), which FID's cancellation amplifies: FID is held to 1e-9 relative
 */
function assertSameScores(many: Record<string, unknown>, one: Record<string, unknown>): void {
  assert.equal(many.images, one.images);
  assert.ok(Math.abs((many.fid as number) - (one.fid as number)) <= 1e-9 * Math.max(1, Math.abs(one.fid as number)), `FID ${many.fid} vs ${one.fid}`);
  assert.deepEqual(many.kid, one.kid);
  assert.deepEqual(many.clip_score, one.clip_score);
}

function run(args: readonly string[]): Record<string, unknown> {
  const r = vsdlab(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test('a sharded evaluation on the local pool scores what one stream scores: KID and CLIP exactly, FID to rounding', async () => {
  await world;
  const one = run(metricArgs(join(dir, 'one'), join(dir, 'cache-one'), ['--shards', '1']));
  // the shard path reads the folder as `vsdlab fid` does
  const fid = vsdlab(['fid', join(dir, 'ref'), join(dir, 'gen'), '--inception', join(dir, 'perception.onnx'), '--dims', '16', '--no-cache', '--json']);
  assert.equal(fid.code, 0, fid.stderr);
  assert.equal(one.fid, (JSON.parse(fid.stdout) as { fid: number }).fid);
  assert.equal(one.images, 40);
  // 3 shards of 6 batches of 7 (the last short), on 2 workers: uneven shards
  const pool = run(metricArgs(join(dir, 'pool'), join(dir, 'cache-pool'), ['--shards', '3', '-j', '2']));
  assert.equal(pool.shards, 3);
  assertSameScores(pool, one);
});

test('any shard count, more shards than batches (empty shards) included, merges to the one-stream scores', async () => {
  await world;
  const one = run(metricArgs(join(dir, 'one-b'), join(dir, 'cache-one-b'), ['--shards', '1']));
  // in-process shards (the pool's workers run the same runShard): 2, 4 and 9 shards over 6 batches
  for (const shards of [2, 4, 9]) {
    const out = join(dir, `inproc-${shards}`);
    await writeShardSpec(out, { ...readShardSpec(join(dir, 'one-b')), shards, cache: join(dir, `cache-inproc-${shards}`) });
    const sizes: number[] = [];
    for (let i = 0; i < shards; i++) sizes.push((await runShard(out, i)).state.files.length);
    assert.equal(sizes.reduce((a, b) => a + b), 40);
    if (shards === 9) assert.ok(sizes.includes(0), `9 shards of 6 batches leave some empty: ${sizes}`);
    assertSameScores(JSON.parse(JSON.stringify(await mergeAndScore(out))) as Record<string, unknown>, one);
  }
});

test('a shard killed (SIGKILL) during feature extraction reruns to the same state as an uninterrupted shard', async () => {
  await world;
  const whole = join(dir, 'whole');
  run(metricArgs(whole, join(dir, 'cache-whole'), ['--shards', '2']));
  // the same evaluation in a new folder, its worker started by hand so it can be killed as soon as the first batch's
  // features are in the cache. The tiny extractor can finish all 20 rows between two polls on a quiet machine; such a
  // kill proves nothing about a kill mid-extraction, so that attempt is discarded and the kill tried again
  const attempt = async (i: number): Promise<{ killed: string; rows: number }> => {
    const killed = join(dir, `killed-${i}`);
    const cache = join(dir, `cache-killed-${i}`);
    await writeShardSpec(killed, { ...readShardSpec(whole), cache });
    const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), 'shards', 'worker', killed, '--shard', '0/2'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
    const cached = (): number => (existsSync(cache) ? readdirSync(cache, { recursive: true }).filter((f) => String(f).endsWith('.f32')).length : 0);
    while (cached() === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the worker ended before it could be killed mid-extraction');
    assert.equal(existsSync(shardStatePath(killed, 0, 2)), false, 'a killed shard must leave no finished state');
    return { killed, rows: cached() };
  };
  let landed: { killed: string; rows: number } | undefined;
  const tries: number[] = [];
  for (let i = 0; i < 8 && landed === undefined; i++) {
    const a = await attempt(i);
    tries.push(a.rows);
    if (a.rows < 20) landed = a;
  }
  assert.ok(landed !== undefined, `every kill came after the extraction (rows cached at each kill: ${tries.join(', ')})`);
  const killed = landed.killed;
  const rerun = vsdlab(['shards', 'worker', killed, '--shard', '0/2']);
  assert.equal(rerun.code, 0, rerun.stderr);
  const a = readShardState(killed, 0, 2)!;
  const b = readShardState(whole, 0, 2)!;
  assert.deepEqual(a, b);
  // and the merge from there scores as the uninterrupted evaluation
  assert.deepEqual(run(['shards', 'run', killed, '--json']), run(['shards', 'merge', whole, '--json']));
});
