import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { basename, join } from 'node:path';
import { publishDir, removeTornWrites, sweepStaleTempFiles, tempNameOf, tempOwnerOf, writeJsonAtomically } from '../../src/util/atomic-write.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('a writer killed mid-write never leaves a torn file: readers see the old or the new JSON', async () => {
  const dir = tempDir();
  const target = join(dir, 'status.json');
  await writeJsonAtomically(target, { generation: -1, payload: 'x'.repeat(100) });
  const atomic = fromRoot('dist/src/util/atomic-write.js');
  const script = `
    const { writeJsonAtomically } = await import(${JSON.stringify(atomic)});
    for (let i = 0; ; i++) await writeJsonAtomically(${JSON.stringify(target)}, { generation: i, payload: 'y'.repeat(200000 + (i % 7)) });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const seen = new Set<number>();
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const parsed = JSON.parse(readFileSync(target, 'utf8')) as { generation: number };
    seen.add(parsed.generation);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const final = JSON.parse(readFileSync(target, 'utf8')) as { generation: number; payload: string };
  assert.ok(final.generation >= 0, 'the writer made progress');
  assert.ok(final.payload.length >= 200000);
  assert.ok(seen.size > 1, 'the reader saw several generations');
});

test('publishDir moves a finished folder into place in one step, replacing an older copy', () => {
  const dir = tempDir();
  const work = join(dir, 'key.work');
  const final = join(dir, 'key');
  mkdirSync(final);
  writeFileSync(join(final, 'old.txt'), 'old');
  mkdirSync(work);
  writeFileSync(join(work, 'result.json'), '{}');
  publishDir(work, final);
  assert.ok(!existsSync(work));
  assert.deepEqual(readdirSync(final), ['result.json']);
});

test('removeTornWrites takes the temp files of cut-short writes out of a folder, at any depth, and nothing else', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, '.student-ema.safetensors.a392812f.tmp'), 'torn');
  writeFileSync(join(dir, 'samples', '.step-000001.png.node-7-123.0badbeef.tmp'), 'torn');
  writeFileSync(join(dir, 'student.safetensors'), 'whole');
  writeFileSync(join(dir, '.hidden'), 'kept');
  writeFileSync(join(dir, 'notes.tmp'), 'kept');
  assert.equal(removeTornWrites(dir), 2);
  assert.deepEqual(readdirSync(dir).sort(), ['.hidden', 'notes.tmp', 'samples', 'student.safetensors']);
  assert.deepEqual(readdirSync(join(dir, 'samples')), []);
});

/** a pid of this host that no process holds now: a child's, after it exited */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const HOUR = 3_600_000;
const old = (path: string, ms: number): void => {
  const t = (Date.now() - ms) / 1000;
  utimesSync(path, t, t);
};

test('temp names carry their writer: .<name>.<host>-<pid>.<8 hex>.tmp, parsed back strictly', () => {
  const name = basename(tempNameOf('/x/features/ab/0123.f32', 'node-07_a', 4242));
  assert.match(name, /^\.0123\.f32\.node-07_a-4242\.[0-9a-f]{8}\.tmp$/);
  assert.deepEqual(tempOwnerOf(name), { host: 'node-07_a', pid: 4242 });
  // written before owners were named: a temp name with no owner
  assert.deepEqual(tempOwnerOf('.table.md.0badbeef.tmp'), {});
  for (const other of ['table.md', '.hidden', 'notes.tmp', '.a.b.tmp', '.x.node-1.0badbee.tmp', '.x.host-1.0BADBEEF.tmp', '.x.0badbeef.tmp.1']) {
    assert.equal(tempOwnerOf(other), undefined, other);
  }
});

test('a sweep of a shared folder takes the temp files of dead writers of this host and keeps those of live ones, however old', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'ab'));
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const dead = deadPid();
    const deadFile = join(dir, 'ab', `.e1.f32.here-${dead}.0badbeef.tmp`);
    const liveFile = join(dir, 'ab', `.e2.f32.here-${live.pid}.0badbeef.tmp`);
    const mine = tempNameOf(join(dir, 'ab', 'e3.f32'), 'here');
    const entry = join(dir, 'ab', 'e4.f32');
    for (const f of [deadFile, liveFile, mine, entry]) writeFileSync(f, 'x');
    // the live writer's file is a minute old: a slow writer, not garbage
    await new Promise((r) => setTimeout(r, 50));
    old(liveFile, 0);
    assert.equal(sweepStaleTempFiles(dir, { host: 'here' }), 0, 'not recursive: the sub-folder is left alone');
    assert.equal(sweepStaleTempFiles(dir, { host: 'here', recursive: true }), 1);
    assert.deepEqual(readdirSync(join(dir, 'ab')).sort(), [basename(liveFile), basename(mine), 'e4.f32'].sort());
    // a pid reused: the process holding it now started after the file was last written, so it is not the writer
    old(liveFile, HOUR);
    assert.equal(sweepStaleTempFiles(join(dir, 'ab'), { host: 'here' }), 1);
    assert.deepEqual(readdirSync(join(dir, 'ab')).sort(), [basename(mine), 'e4.f32'].sort());
  } finally {
    live.kill('SIGKILL');
  }
});

test('temp files of another host, or of no named owner, are taken only past the stale age', () => {
  const dir = tempDir();
  const elsewhere = join(dir, `.r.json.node-9-${process.pid}.0badbeef.tmp`);
  const legacy = join(dir, '.table.md.0badbeef.tmp');
  for (const f of [elsewhere, legacy]) writeFileSync(f, 'x');
  old(elsewhere, 2 * HOUR);
  old(legacy, 30 * 60_000);
  // on this host the pid is alive (this process) but the name says another host: only the age counts
  assert.equal(sweepStaleTempFiles(dir, { host: 'here', staleMs: HOUR }), 1);
  assert.deepEqual(readdirSync(dir), [basename(legacy)]);
  assert.equal(sweepStaleTempFiles(dir, { host: 'here', staleMs: 10 * 60_000 }), 1);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(sweepStaleTempFiles(join(dir, 'absent')), 0);
});

test('a writer in another process never loses a write to sweeps of the folder it writes in; its killed write is swept', async () => {
  const dir = tempDir();
  const atomic = fromRoot('dist/src/util/atomic-write.js');
  const script = `
    const { writeFileAtomically } = await import(${JSON.stringify(atomic)});
    const data = new Uint8Array(1 << 20);
    for (let i = 0; ; i++) { await writeFileAtomically(${JSON.stringify(join(dir, 'entry'))} + (i % 50) + '.f32', data); process.stdout.write('.'); }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let writes = 0;
  child.stdout.on('data', (d: Buffer) => (writes += d.length));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let swept = 0;
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    swept += sweepStaleTempFiles(dir, { staleMs: HOUR });
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(swept, 0, 'no temp file of the live writer was taken');
  assert.ok(writes > 5, `the writer made progress (${writes} writes)`);
  // killed (most likely mid-write: it writes all the time): whatever it left is a dead writer's
  child.kill('SIGKILL');
  assert.equal(await exited, null, stderr);
  const temps = readdirSync(dir).filter((n) => tempOwnerOf(n));
  assert.equal(sweepStaleTempFiles(dir), temps.length);
  assert.deepEqual(readdirSync(dir).filter((n) => tempOwnerOf(n)), []);
});
