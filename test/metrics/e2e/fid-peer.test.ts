// `vsdlab fid` / `vsdlab kid` against pytorch-fid and clean-fid run on the same network and images
// (test/golden/metrics-peer/make_peer_goldens.py), and the one-line bad-input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeStatsNpz, readStatsNpz } from '../../../src/metrics/stats/index.js';
import { vsdlab } from '../../helpers/cli.js';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';

const golden = fromRoot('test', 'golden', 'metrics-peer');
const g = JSON.parse(readFileSync(join(golden, 'goldens.json'), 'utf8')) as {
  'legacy-pytorch': { fid: number };
  clean: { fid: number };
  'kid-clean': { kid: number; np_random_seed: number };
};
const A = join(golden, 'images', 'a');
const B = join(golden, 'images', 'b');
const model = join(golden, 'inception-w32.onnx');
const common = ['--inception', model, '--dims', '64', '--threads', '1'];

function json(args: string[]): Record<string, unknown> {
  const r = vsdlab(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

test('--mode legacy-pytorch equals pytorch-fid within 1e-4', () => {
  const out = json(['fid', A, B, '--mode', 'legacy-pytorch', '--no-cache', '--json', ...common]);
  assert.ok(Math.abs((out.fid as number) - g['legacy-pytorch'].fid) < 1e-4, `${out.fid} vs pytorch-fid ${g['legacy-pytorch'].fid}`);
});

test('--mode clean equals clean-fid within 1e-4, and the feature cache gives the same value on a second run', () => {
  const cache = tempDir();
  const first = json(['fid', A, B, '--mode', 'clean', '--cache', cache, '--json', ...common]);
  assert.ok(Math.abs((first.fid as number) - g.clean.fid) < 1e-4, `${first.fid} vs clean-fid ${g.clean.fid}`);
  const second = json(['fid', A, B, '--mode', 'clean', '--cache', cache, '--json', ...common]);
  assert.equal(second.fid, first.fid);
  assert.deepEqual((second.sets as Array<{ cache_hits: number }>).map((s) => s.cache_hits), [80, 80]);
});

test("kid --draw clean-fid equals clean-fid's kernel_distance after np.random.seed within 1e-4", () => {
  const out = json(['kid', A, B, '--mode', 'clean', '--no-cache', '--json', '--seed', String(g['kid-clean'].np_random_seed), '--draw', 'clean-fid', '--inception', model, '--threads', '1']);
  assert.ok(Math.abs((out.kid as number) - g['kid-clean'].kid) < 1e-4, `${out.kid} vs clean-fid ${g['kid-clean'].kid}`);
});

test('--save-stats writes pytorch-fid .npz statistics that give the same FID as the folder', () => {
  const dir = tempDir();
  const npz = join(dir, 'a.npz');
  const saved = vsdlab(['fid', A, '--save-stats', npz, '--mode', 'legacy-pytorch', '--no-cache', ...common]);
  assert.equal(saved.code, 0, saved.stderr);
  const stats = readStatsNpz(npz);
  assert.equal(stats.mu.length, 64);
  assert.equal(stats.sigma.length, 64 * 64);
  const viaNpz = vsdlab(['fid', npz, B, '--mode', 'legacy-pytorch', '--no-cache', ...common]);
  assert.equal(viaNpz.code, 0, viaNpz.stderr);
  const value = Number(/^FID:\s+(\S+)$/m.exec(viaNpz.stdout)![1]);
  assert.ok(Math.abs(value - g['legacy-pytorch'].fid) < 1e-4);
});

test("pytorch-fid's own .npz statistics (np.savez_compressed) read back into the same FID", () => {
  const out = json(['fid', join(golden, 'pytorch-fid-stats-a.npz'), B, '--mode', 'legacy-pytorch', '--no-cache', '--json', ...common]);
  assert.ok(Math.abs((out.fid as number) - g['legacy-pytorch'].fid) < 1e-4, `${out.fid} vs pytorch-fid ${g['legacy-pytorch'].fid}`);
  assert.deepEqual((out.sets as Array<{ kind: string }>).map((s) => s.kind), ['npz', 'images']);
});

function smallFolder(n: number, extra: Record<string, string> = {}): string {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(A).slice(0, n)) copyFileSync(join(A, name), join(dir, name));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

test('a corrupt image names the file (exit 2); with --skip-bad it is left out and counted', () => {
  const dir = smallFolder(4, { 'zz-broken.png': 'not a png at all' });
  const r = vsdlab(['fid', dir, B, '--no-cache', ...common]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /zz-broken\.png/);
  assert.equal(r.stderr.trim().split('\n')[0]!.startsWith('vsdlab: '), true);
  const ok = vsdlab(['fid', dir, B, '--no-cache', '--skip-bad', '--json', ...common]);
  assert.equal(ok.code, 0, ok.stderr);
  const sets = (JSON.parse(ok.stdout) as { sets: Array<{ images: number; skipped: number }> }).sets;
  assert.deepEqual([sets[0]!.images, sets[0]!.skipped], [4, 1]);
  assert.match(ok.stderr, /skipped 1 unreadable image/);
});

test('fewer than 2 images, mismatched dims, wrong path counts: one clear line each, exit 2', () => {
  const one = smallFolder(1);
  const cases: Array<[string[], RegExp]> = [
    [['fid', one, B, '--no-cache', ...common], /has 1 usable image\(s\); at least 2 are needed/],
    [['fid', A, B, '--no-cache', '--inception', model, '--dims', '2048'], /has 64 features but --dims is 2048/],
    [['fid', A, '--no-cache', ...common], /fid takes two paths/],
  ];
  for (const [args, pattern] of cases) {
    const r = vsdlab(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    // a log shows the progress of the work done before the error, then the error's one line
    assert.match(r.stderr.split('\n').filter((l) => !l.startsWith('features '))[0]!, pattern);
  }
  // a 64-d folder against 8-d statistics, and an unreadable .npz
  const dir = tempDir();
  const small = join(dir, 'small.npz');
  writeFileSync(small, encodeStatsNpz({ mu: new Float64Array(8), sigma: new Float64Array(64) }));
  const mismatch = vsdlab(['fid', A, small, '--no-cache', ...common]);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr.split('\n')[0]!, /small\.npz holds 8-d statistics but --dims is 64/);
  const empty = join(dir, 'empty.npz');
  writeFileSync(empty, Buffer.alloc(0));
  const bad = vsdlab(['fid', A, empty, '--no-cache', ...common]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.split('\n')[0]!, /empty\.npz/);
});
