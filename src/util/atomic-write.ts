import { mkdirSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** Write-then-rename (with fsync): a reader sees the old file or the new one, never a torn one. */
export async function writeFileAtomically(path: string, data: string | Uint8Array): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, typeof data === 'string' ? data : Buffer.from(data));
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
