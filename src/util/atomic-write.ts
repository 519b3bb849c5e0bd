import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, existsSync, statSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { BadInputError, FailureError } from '../errors.js';

/**
 * The writer's host as a temp-name segment: its first label (the name stays short), letters, digits, `_` and `-`
 * only, so the strict temp pattern below parses it back.
 */
const HOST = (hostname().split('.')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32) || 'host';

/**
 * The temp name of a write of `path`: `.<name>.<host>-<pid>.<8 hex>.tmp` beside it (hidden, never read as the file).
 * The owner in the name lets a sweep of a shared folder tell a killed writer's garbage from a live writer's file.
 */
export const tempNameOf = (path: string, host = HOST, pid = process.pid): string =>
  join(dirname(path), `.${basename(path)}.${host}-${pid}.${randomBytes(4).toString('hex')}.tmp`);

/**
 * Write-then-rename (with fsync): a reader sees the old file or the new one, never a torn one. The temp file is
 * named by tempNameOf. The data is written to the end or the write fails: on a full disk write(2) returns short
 * counts before ENOSPC, and a writer that did not loop (write-file-atomic's single fs.write) renamed a truncated
 * checkpoint into place (found by test/reliability).
 */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempNameOf(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const file = await open(tmp, 'wx');
    try {
      await file.writeFile(data); // loops until every byte is written, or throws
      await file.sync();
    } finally {
      await file.close();
    }
    renameSync(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw writeError(path, e);
  }
}

/** writeFileAtomically's temp names: `.<name>.<host>-<pid>.<8 hex>.tmp`, or `.<name>.<8 hex>.tmp` before owners were named */
const TORN_WRITE = /^\..+?\.(?:([A-Za-z0-9_-]+)-(\d{1,10})\.)?[0-9a-f]{8}\.tmp$/;

/** the owner a temp name records (undefined host and pid for an older name), or undefined when it is not a temp name */
export function tempOwnerOf(name: string): { host?: string; pid?: number } | undefined {
  const m = TORN_WRITE.exec(name);
  if (!m) return undefined;
  return m[1] === undefined ? {} : { host: m[1], pid: Number(m[2]) };
}

/**
 * Removes, under `dir`, the temp files of writes a kill cut short (they are never read as files, but a folder
 * published with them carries garbage). Only for a folder one writer owns (a stage's work folder under its lock):
 * a shared folder takes sweepStaleTempFiles.
 */
export function removeTornWrites(dir: string): number {
  let removed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removed += removeTornWrites(path);
    else if (TORN_WRITE.test(entry.name)) {
      rmSync(path, { force: true });
      removed += 1;
    }
  }
  return removed;
}

/** how old (since its last write) a temp file of another host, or of no named owner, must be before a sweep takes it */
export const tempStaleMs = (): number => {
  const ms = Number(process.env['VSDLAB_TEMP_STALE_MS']);
  return Number.isFinite(ms) && ms >= 0 ? ms : 3_600_000;
};

export interface SweepOptions {
  /** sweep sub-folders too */
  recursive?: boolean;
  /** default tempStaleMs() */
  staleMs?: number;
  /** this host's name segment and the clock, for tests */
  host?: string;
  now?: number;
}

/**
 * Removes the temp files under `dir` whose writer is gone, in a folder other processes may be writing into now (the
 * feature cache, a report folder). A temp file is garbage when its owner, named in it, is of this host and dead: no
 * /proc/<pid>, or that pid now belongs to a process started after the file's last write (a reused pid). The file of
 * a live writer on this host is never taken, however old (a paused or slow writer finishes and renames it). A file
 * of another host (whose pids mean nothing here: a cluster's shared or NFS folder) or of no named owner is taken
 * once it has not been written for the stale age: a write is seconds of work between its open and its rename.
 * Returns how many were removed; files that vanish meanwhile (renamed by their writer, taken by another sweep) are
 * skipped.
 */
export function sweepStaleTempFiles(dir: string, options: SweepOptions = {}): number {
  const host = options.host ?? HOST;
  const staleMs = options.staleMs ?? tempStaleMs();
  let removed = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0; // not there (yet), or gone
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (options.recursive) removed += sweepStaleTempFiles(path, options);
      continue;
    }
    const owner = tempOwnerOf(entry.name);
    if (!owner) continue;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      continue;
    }
    const stale = (options.now ?? Date.now()) - mtimeMs > staleMs;
    const garbage = owner.host === host && owner.pid !== undefined ? !ownerRuns(owner.pid, mtimeMs) : stale;
    if (garbage) {
      rmSync(path, { force: true });
      removed += 1;
    }
  }
  return removed;
}

/**
 * Whether the process `pid` of this host can be the one that last wrote a file at `mtimeMs`: it exists and it started
 * before that write. Where /proc cannot tell the start time, a process that exists counts as the owner (kept).
 */
function ownerRuns(pid: number, mtimeMs: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartMs(pid);
  // the start time is known to a clock tick and the boot time to a second: a margin keeps doubt on the safe side
  return started === undefined || started <= mtimeMs + 2000;
}

/** when `pid` started (ms since the epoch), from /proc/<pid>/stat's starttime and /proc/stat's btime; Linux only */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return undefined;
    // USER_HZ is 100 on every Linux architecture Node runs on (the kernel ABI fixes it, whatever CONFIG_HZ is)
    return Number(btime[1]) * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

/** a full disk or a folder without write access is named with the path, in one line, not as an internal error */
export function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FailureError('DISK_FULL', `${path}: no space left on the device (${code}); nothing was written under this name`, 'free space (or raise the quota) and run the command again: finished work is kept');
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new BadInputError('NOT_WRITABLE', `${path}: cannot write here (${code})`, 'give the user write access to the folder, or choose another one (--store, --out)');
  }
  return e;
}

export const writeJsonAtomically = (path: string, value: unknown): Promise<void> =>
  writeFileAtomically(path, `${JSON.stringify(value, null, 2)}\n`);

export function readJsonIfExists<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Publishes a finished folder under its final name in one rename; an older copy is replaced. */
export function publishDir(tmp: string, final: string): void {
  mkdirSync(dirname(final), { recursive: true });
  if (existsSync(final)) rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
}
