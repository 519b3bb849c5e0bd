import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { BadInputError, FailureError } from '../errors.js';

/**
 * Write-then-rename (with fsync): a reader sees the old file or the new one, never a torn one. The temp file is
 * `.<name>.<random>.tmp` beside the target (hidden, and no reader takes it for the file). The data is written to the
 * end or the write fails: on a full disk write(2) returns short counts before ENOSPC, and a writer that did not loop
 * (write-file-atomic's single fs.write) renamed a truncated checkpoint into place (found by test/reliability).
 */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
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

/** the temp name writeFileAtomically uses: `.<name>.<8 hex>.tmp` */
const TORN_WRITE = /^\..+\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes, under `dir`, the temp files of writes a kill cut short (they are never read as files, but a folder
 * published with them carries garbage). Only for a folder one writer owns (a stage's work folder under its lock):
 * in a shared folder the temp file may be a live writer's.
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
