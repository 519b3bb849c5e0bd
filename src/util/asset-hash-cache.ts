// Asset sha256s cached per file by (size, mtime in ns, inode, device): `plan`, `run` and `status` re-hash only the
// files whose stat changed, so a 40K-image folder costs one stat per file and a multi-GB model one stat.
// `vsdlab verify` re-hashes everything and names the files whose content changed while their stat did not (the
// one thing a stat cache cannot see: a tool that rewrites bytes in place and restores the mtime).
//
// The cache is a JSON file (default $XDG_CACHE_HOME/vsdlab/asset-hashes.json), written atomically. Concurrent
// processes each merge their new entries into what is on disk just before they write; a lost entry only costs a
// re-hash later, and a corrupt or foreign file is ignored and rebuilt. An entry is never trusted wrongly: it is
// recorded only for a file whose mtime is older than RACY_MARGIN_NS at hashing time and whose stat did not move
// while it was read (a write landing in the same timestamp tick as the hash would otherwise go unseen, as in git's
// "racy clean" problem).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomically } from './atomic-write.js';
import { hashValue, sha256File } from './hash.js';

const VERSION = 1;
/** a file modified this close to its hashing is hashed again next time: timestamps tick coarsely (jiffies, FAT 2 s) */
export const RACY_MARGIN_NS = 2_000_000_000n;

export interface FileEntry {
  size: string;
  mtime_ns: string;
  ino: string;
  dev: string;
  sha256: string;
}

/** what `verify` found for one file */
export type VerifyStatus = 'unchanged' | 'stat-changed' | 'new' | 'content-changed-same-stat';

export interface VerifiedFile {
  path: string;
  status: VerifyStatus;
  sha256: string;
  /** the sha256 the cache held (absent for a new file) */
  cached?: string;
}

/** $VSDLAB_ASSET_CACHE (a file; `off` keeps the cache in memory only), else $XDG_CACHE_HOME/vsdlab/asset-hashes.json */
export function defaultAssetHashCacheFile(): string | null {
  const env = process.env.VSDLAB_ASSET_CACHE;
  if (env === 'off') return null;
  return env ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vsdlab', 'asset-hashes.json');
}

const statKey = (st: BigIntStats): Omit<FileEntry, 'sha256'> => ({ size: String(st.size), mtime_ns: String(st.mtimeNs), ino: String(st.ino), dev: String(st.dev) });
const sameStat = (a: Omit<FileEntry, 'sha256'>, b: Omit<FileEntry, 'sha256'>): boolean => a.size === b.size && a.mtime_ns === b.mtime_ns && a.ino === b.ino && a.dev === b.dev;
const isEntry = (v: unknown): v is FileEntry => {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return ['size', 'mtime_ns', 'ino', 'dev'].every((k) => typeof e[k] === 'string' && /^\d+$/.test(e[k] as string)) && typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256);
};

/** the entries of a cache file; anything unreadable, of another version or malformed counts as empty */
function readEntries(file: string): Map<string, FileEntry> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
  const doc = json as { version?: unknown; entries?: unknown };
  if (typeof doc !== 'object' || doc === null || doc.version !== VERSION || typeof doc.entries !== 'object' || doc.entries === null) return new Map();
  return new Map(Object.entries(doc.entries as Record<string, unknown>).filter((e): e is [string, FileEntry] => isEntry(e[1])));
}

export class AssetHashCache {
  private readonly entries: Map<string, FileEntry>;
  /** paths this process (re)hashed: what it merges into the file on save */
  private readonly touched = new Map<string, FileEntry | null>();

  /** `file` null: memory only */
  private constructor(readonly file: string | null) {
    this.entries = file && existsSync(file) ? readEntries(file) : new Map();
  }

  static open(file: string | null = defaultAssetHashCacheFile()): AssetHashCache {
    return new AssetHashCache(file);
  }

  /** sha256Path's value (util/hash.ts), a file read only when its stat is not in the cache */
  async hashPath(path: string): Promise<string> {
    return this.walk(resolve(path), (abs, st) => this.hashFile(abs, st));
  }

  /**
   * Re-hashes every file of `path` whatever the cache says and records the fresh values; returns the asset's
   * sha256 and what was found per file (see VerifyStatus).
   */
  async verifyPath(path: string): Promise<{ sha256: string; files: VerifiedFile[] }> {
    const files: VerifiedFile[] = [];
    const sha256 = await this.walk(resolve(path), async (abs, st) => {
      const cached = this.entries.get(abs);
      const fresh = await this.rehash(abs, st);
      const status: VerifyStatus = !cached ? 'new' : !sameStat(cached, statKey(st)) ? 'stat-changed' : cached.sha256 === fresh ? 'unchanged' : 'content-changed-same-stat';
      files.push({ path: abs, status, sha256: fresh, ...(cached ? { cached: cached.sha256 } : {}) });
      return fresh;
    });
    return { sha256, files };
  }

  /**
   * Writes the entries this process hashed, merged into the file as it is now (another process may have added
   * some). A cache that cannot be written (read-only home, full disk) is left as it was: false, never an error.
   */
  async save(): Promise<boolean> {
    const file = this.file;
    if (!file || this.touched.size === 0) return false;
    const written = await withFileLock(`${file}.lock`, async () => {
      const merged = existsSync(file) ? readEntries(file) : new Map<string, FileEntry>();
      for (const [path, entry] of this.touched) {
        if (entry) merged.set(path, entry);
        else merged.delete(path);
      }
      const entries = Object.fromEntries([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      await writeFileAtomically(file, JSON.stringify({ version: VERSION, entries }));
    }).then(
      (ran) => ran,
      () => false,
    );
    if (written) this.touched.clear();
    return written;
  }

  /** every file the cache holds an entry for (verify with no target re-hashes them all) */
  knownFiles(): string[] {
    return [...this.entries.keys()].sort();
  }

  private async hashFile(abs: string, st: BigIntStats): Promise<string> {
    const cached = this.entries.get(abs);
    if (cached && sameStat(cached, statKey(st))) return cached.sha256;
    return this.rehash(abs, st);
  }

  private async rehash(abs: string, before: BigIntStats): Promise<string> {
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const sha256 = await sha256File(abs);
    const after = statSync(abs, { bigint: true });
    const key = statKey(after);
    if (sameStat(statKey(before), key) && after.mtimeNs < startedNs - RACY_MARGIN_NS) {
      const entry = { ...key, sha256 };
      this.entries.set(abs, entry);
      this.touched.set(abs, entry);
    } else this.forget(abs);
    return sha256;
  }

  /** drops the entry of a file (one that is gone) */
  forget(abs: string): void {
    if (!this.entries.has(abs)) return;
    this.entries.delete(abs);
    this.touched.set(abs, null);
  }

  /** sha256Path's walk: a file's hash, or a folder's sorted (relative path, file hash) list; hidden entries skipped */
  private async walk(root: string, fileHash: (abs: string, st: BigIntStats) => Promise<string>): Promise<string> {
    const top = statSync(root, { bigint: true });
    if (!top.isDirectory()) return fileHash(root, top);
    const entries: Array<[string, string]> = [];
    const visit = async (dir: string): Promise<void> => {
      for (const name of readdirSync(dir).sort()) {
        if (name.startsWith('.')) continue;
        const full = join(dir, name);
        const st = statSync(full, { bigint: true });
        if (st.isDirectory()) await visit(full);
        else entries.push([relative(root, full).split('\\').join('/'), await fileHash(full, st)]);
      }
    };
    await visit(root);
    return hashValue(entries);
  }
}

/**
 * Runs `fn` holding an O_EXCL lock file, so that concurrent savers merge in turn instead of overwriting each
 * other. A lock older than 10 s is a crashed saver's and is taken over; after `waitMs` the save is given up
 * (false): the cache stays as it was, which is never wrong.
 */
async function withFileLock(lock: string, fn: () => Promise<void>, waitMs = 3000): Promise<boolean> {
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10_000) rmSync(lock, { force: true });
      else if (Date.now() > deadline) return false;
      else await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
  try {
    await fn();
    return true;
  } finally {
    rmSync(lock, { force: true });
  }
}
