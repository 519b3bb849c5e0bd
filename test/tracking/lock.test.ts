import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isLockLive, tryLock } from '../../src/tracking/lock.js';
import { tempDir } from '../helpers/temp.js';

test('a held lock excludes a second taker until released', () => {
  const path = join(tempDir(), 'sub', 'cell.lock');
  const a = tryLock(path);
  assert.ok(a);
  assert.equal(tryLock(path), undefined);
  assert.ok(isLockLive(path));
  a.release();
  const b = tryLock(path);
  assert.ok(b);
  b.release();
});

test('a lock left by a dead process on this host is taken over at once', () => {
  const path = join(tempDir(), 'dead.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(path, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), token: 'old', since: '' }));
  assert.equal(isLockLive(path), false);
  const lock = tryLock(path);
  assert.ok(lock, 'abandoned lock taken over');
  lock.release();
});

test('a lock from another host is abandoned only when not touched for staleMs', () => {
  const path = join(tempDir(), 'remote.lock');
  writeFileSync(path, JSON.stringify({ pid: 1, host: 'some-other-node', token: 'remote', since: '' }));
  assert.equal(tryLock(path, { staleMs: 60_000 }), undefined, 'fresh remote lock respected');
  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  const lock = tryLock(path, { staleMs: 60_000 });
  assert.ok(lock, 'stale remote lock taken over');
  lock.release();
});

test('on this host a live holder keeps its lock past the lapse while it runs, and loses it once stopped', { skip: existsSync('/proc/self/stat') ? false : 'no /proc here: only the lapse decides' }, async () => {
  const path = join(tempDir(), 'busy.lock');
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    writeFileSync(path, JSON.stringify({ pid: holder.pid, host: hostname(), token: 'busy', since: '' }));
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    // a runner inside one long synchronous step cannot touch its lock; it is not abandoned for that
    assert.equal(tryLock(path, { staleMs: 60_000 }), undefined, 'running holder respected past the lapse');
    holder.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 200));
    const lock = tryLock(path, { staleMs: 60_000 });
    assert.ok(lock, 'stopped holder past the lapse is taken over');
    lock.release();
  } finally {
    holder.kill('SIGKILL');
  }
});

test('releasing a lock someone else now holds leaves it alone', () => {
  const path = join(tempDir(), 'x.lock');
  const a = tryLock(path);
  assert.ok(a);
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', since: '' }));
  a.release();
  assert.ok(isLockLive(path));
});
