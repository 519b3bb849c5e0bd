// sha256 of bytes, values (canonical JSON), files and folders: run identity, asset fingerprints, cache keys.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** JSON with object keys sorted at every level, so equal values always serialise (and hash) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** sha256 of the parts' concatenation, without building it (strings as UTF-8) */
export function sha256Parts(parts: Iterable<string | Uint8Array>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export const hashValue = (value: unknown): string => sha256(canonicalJson(value));

/** Streams the file, so a multi-gigabyte model is hashed without loading it whole. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A file's sha256, or for a folder the sha256 of its sorted (relative path, file sha256) list. Hidden entries
 * (`.work/` checkpoints of a training in progress, `.DS_Store`) are not part of the asset.
 */
export async function sha256Path(path: string): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path);
  const entries: Array<[string, string]> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) await walk(full);
      else entries.push([relative(path, full).split('\\').join('/'), await sha256File(full)]);
    }
  };
  await walk(path);
  return hashValue(entries);
}
