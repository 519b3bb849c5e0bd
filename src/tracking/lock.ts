import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { BadInputError, ConflictError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface Lock {
  readonly path: string;
  readonly token: string;
  /** refreshes the lock's mtime (a lock not refreshed for `staleMs` may be taken over); false once it was taken over */
  touch(): boolean;
  /** still ours: nobody took it over while this process was paused or slow */
  held(): boolean;
  /**
   * Fencing: called right before committing a result (publishing a stage folder, writing a status). A holder that
   * was paused (SIGSTOP, a frozen VM) past `staleMs` finds its lock taken over and stops instead of writing over its
   * successor's work.
   */
  assertHeld(what: string): void;
  release(): void;
}

export interface LockOptions {
  /** a lock whose file was not touched for this long is considered abandoned */
  staleMs?: number;
}

const DEFAULT_STALE_MS = 30_000;

/**
 * How long a lock may go untouched before another runner takes it over, and how often a holder touches it (a
 * quarter of that, at most 5 s). `VSDLAB_LOCK_STALE_MS` sets the lapse for every command at once (run, status,
 * report), so a cluster with slow shared file systems can lengthen it and tests can shorten it.
 */
export function lockTimings(env: NodeJS.ProcessEnv = process.env): { staleMs: number; heartbeatMs: number } {
  const raw = env.VSDLAB_LOCK_STALE_MS;
  const staleMs = raw === undefined || raw === '' ? DEFAULT_STALE_MS : Number(raw);
  if (!Number.isInteger(staleMs) || staleMs < 100) {
    throw new BadInputError('LOCK_STALE_MS', `VSDLAB_LOCK_STALE_MS=${raw}: not a whole number of milliseconds ≥ 100`, 'unset it (default 30000) or give e.g. 60000');
  }
  return { staleMs, heartbeatMs: Math.min(5000, Math.floor(staleMs / 4)) };
}

/**
 * An exclusive lock file (O_EXCL create). One runner per cell and per stage key, across processes and, on a
 * shared file system, across Slurm nodes. A lock is abandoned when its process is gone (same host) or it has
 * not been touched for `staleMs`; an abandoned lock is taken over by renaming it away first, so of two
 * runners that both saw it abandoned only one wins.
 */
export function tryLock(path: string, options: LockOptions = {}): Lock | undefined {
  const staleMs = options.staleMs ?? lockTimings().staleMs;
  const info: LockInfo = { pid: process.pid, host: hostname(), token: randomUUID(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (create(path, info)) return handle(path, info.token);
    const holder = readLock(path);
    if (!holder || !abandoned(path, holder, staleMs)) return undefined;
    const aside = `${path}.stale-${info.token}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readLock(aside);
    if (moved && moved.token !== holder.token) {
      // we moved a fresh lock that replaced the abandoned one in between: put it back
      try {
        linkSync(aside, path);
      } catch {
        /* its owner will notice on release */
      }
      rmSync(aside, { force: true });
      return undefined;
    }
    rmSync(aside, { force: true });
  }
  return undefined;
}

/** Waits for a lock, polling; for work that another runner is doing right now (a shared stage). */
export async function waitForLock(path: string, options: LockOptions & { pollMs?: number; signal?: AbortSignal } = {}): Promise<Lock> {
  for (;;) {
    const lock = tryLock(path, options);
    if (lock) return lock;
    if (options.signal?.aborted) throw options.signal.reason;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}

export function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export function isLockLive(path: string, staleMs = lockTimings().staleMs): boolean {
  const holder = readLock(path);
  return holder !== undefined && !abandoned(path, holder, staleMs);
}

function abandoned(path: string, holder: LockInfo, staleMs: number): boolean {
  if (holder.host === hostname()) {
    if (!processAlive(holder.pid)) return true;
    // on this host the holder's state is known: a runner busy in one long synchronous step (a full-size UNet pass on
    // CPU outlasts the heartbeat) keeps its lock; only a stopped one (SIGSTOP, a suspended job) can lapse
    const state = processState(holder.pid);
    if (state !== undefined && state !== 'T' && state !== 't') return false;
  }
  try {
    return Date.now() - statSync(path).mtimeMs > staleMs;
  } catch {
    return true;
  }
}

/** the process's state letter from /proc (R running, S sleeping, T stopped, ...), or undefined where there is no /proc */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function create(path: string, info: LockInfo): boolean {
  let fd: number;
  mkdirSync(dirname(path), { recursive: true });
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  writeSync(fd, JSON.stringify(info));
  closeSync(fd);
  return true;
}

function handle(path: string, token: string): Lock {
  const owned = (): boolean => readLock(path)?.token === token;
  return {
    path,
    token,
    touch() {
      if (!owned()) return false;
      const now = new Date();
      try {
        utimesSync(path, now, now);
      } catch {
        return false; // removed between the check and the touch: taken over
      }
      return true;
    },
    held: owned,
    assertHeld(what) {
      if (!owned()) {
        const holder = readLock(path);
        throw new ConflictError('LOCK_LOST', `${path}: ${holder ? `pid ${holder.pid} on ${holder.host}` : 'another runner'} took over ${what} while this runner was paused past the lock's heartbeat; its work is left to that runner`, 'run `vsdlab status` to follow it; raise VSDLAB_LOCK_STALE_MS if runners are paused for long');
      }
    },
    release() {
      if (owned()) rmSync(path, { force: true });
    },
  };
}
