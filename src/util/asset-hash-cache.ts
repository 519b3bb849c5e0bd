// Asset sha256s cached per file by (size, mtime in ns, inode, device): `plan`, `run` and `status` re-hash only the
// files whose stat changed, so a 40K-image folder costs one stat per file and a multi-GB model one stat.
// `vsdlab verify` re-hashes everything and names the files whose content changed while their stat did not (the
// one thing a stat cache cannot see: a tool that rewrites bytes in place and restores the mtime).
//
// The cache is a folder (default $XDG_CACHE_HOME/vsdlab/asset-hashes/) with one JSON file per asset path (a model,
// an image folder), so a plan reads the entries of the assets it names and no others. Files are written atomically;
// concurrent processes merge their new entries into what is on disk under a lock file, and a corrupt or foreign
// file is ignored and rebuilt. An entry is never trusted wrongly: it is recorded only for a file whose mtime is
// older than RACY_MARGIN_NS at hashing time and whose stat did not move while it was read (a write landing in the
// same timestamp tick as the hash would otherwise go unseen: git's "racy clean" problem).
//
// A file asset may have companions that are part of it (an .onnx graph's external-data files): the caller names
// them through a rule given to `open`, and each is hashed, cached and stat-checked like a file of a folder.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomically } from './atomic-write.js';
import { sha256, sha256File } from './hash.js';

const VERSION = 2;
/** a file modified this close to its hashing is hashed again next time: timestamps tick coarsely (jiffies, FAT 2 s) */
export const RACY_MARGIN_NS = 2_000_000_000n;

/** size, mtime (ns), inode, device (decimal strings) and sha256 of one file */
type FileEntry = [size: string, mtimeNs: string, ino: string, dev: string, sha256: string];

/** the files, relative to a file asset's folder, that belong to that file (e.g. an ONNX model's external data) */
export type CompanionRule = (file: string) => readonly string[];

/** files read so far, of those that have to be */
export type HashProgress = (done: number, total: number) => void;

/** what `verify` found for one file */
export type VerifyStatus = 'unchanged' | 'stat-changed' | 'new' | 'content-changed-same-stat';

export interface VerifiedFile {
  path: string;
  status: VerifyStatus;
  sha256: string;
  /** the sha256 the cache held (absent for a new file) */
  cached?: string;
}

/** $VSDLAB_ASSET_CACHE (a folder; `off` keeps the cache in memory only), else $XDG_CACHE_HOME/vsdlab/asset-hashes */
export function defaultAssetHashCacheDir(): string | null {
  const env = process.env.VSDLAB_ASSET_CACHE;
  if (env === 'off') return null;
  return env ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vsdlab', 'asset-hashes');
}

const statOf = (st: BigIntStats): [string, string, string, string] => [String(st.size), String(st.mtimeNs), String(st.ino), String(st.dev)];
const sameStat = (e: FileEntry, s: readonly string[]): boolean => e[0] === s[0] && e[1] === s[1] && e[2] === s[2] && e[3] === s[3];
const DIGITS = /^\d+$/;
const SHA256 = /^[0-9a-f]{64}$/;
const isEntry = (v: unknown): v is FileEntry =>
  Array.isArray(v) && v.length === 5 && DIGITS.test(v[0]) && DIGITS.test(v[1]) && DIGITS.test(v[2]) && DIGITS.test(v[3]) && SHA256.test(v[4]);

/** the entries of one asset path, by path relative to it ('' for a file) */
interface Shard {
  root: string;
  file: string | null;
  entries: Map<string, FileEntry>;
  /** what this process (re)hashed or dropped: merged into the file on save */
  touched: Map<string, FileEntry | null>;
}

/** a shard file's entries; anything unreadable, of another version or root, or malformed counts as empty */
function readShard(file: string, root: string): Map<string, FileEntry> {
  let doc: { version?: unknown; root?: unknown; entries?: unknown };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch {
    return new Map();
  }
  if (typeof doc !== 'object' || doc === null || doc.version !== VERSION || doc.root !== root || typeof doc.entries !== 'object' || doc.entries === null) return new Map();
  return new Map(Object.entries(doc.entries as Record<string, unknown>).filter((e): e is [string, FileEntry] => isEntry(e[1])));
}

export class AssetHashCache {
  private readonly shards = new Map<string, Shard>();

  /** `dir` null: memory only */
  private constructor(
    readonly dir: string | null,
    private readonly companions: CompanionRule,
  ) {}

  /** `companions`: the files that belong to a file asset (none by default) */
  static open(dir: string | null = defaultAssetHashCacheDir(), companions: CompanionRule = () => []): AssetHashCache {
    return new AssetHashCache(dir, companions);
  }

  /**
   * sha256Path's value (util/hash.ts), a file read only when its stat is not in the cache; `onProgress` counts the
   * files that have to be read (it is not called when none has).
   */
  async hashPath(path: string, onProgress?: HashProgress): Promise<string> {
    const shard = this.shard(resolve(path));
    const files = this.list(shard);
    const misses = files.filter((f) => {
      const cached = shard.entries.get(f.rel);
      return !(cached && sameStat(cached, f.stat));
    });
    const fresh = new Map<string, string>();
    for (const [i, f] of misses.entries()) {
      fresh.set(f.rel, await this.rehash(shard, f.rel, f.abs, f.stat));
      onProgress?.(i + 1, misses.length);
    }
    return digest(files.map((f) => [f.rel, fresh.get(f.rel) ?? shard.entries.get(f.rel)![4]]));
  }

  /**
   * Re-hashes every file of `path` whatever the cache says and records the fresh values; returns the asset's
   * sha256 and what was found per file (see VerifyStatus).
   */
  async verifyPath(path: string, onProgress?: HashProgress): Promise<{ sha256: string; files: VerifiedFile[] }> {
    const shard = this.shard(resolve(path));
    const listed = this.list(shard);
    const files: VerifiedFile[] = [];
    for (const [i, { rel, abs, stat }] of listed.entries()) {
      const cached = shard.entries.get(rel);
      const fresh = await this.rehash(shard, rel, abs, stat);
      const status: VerifyStatus = !cached ? 'new' : !sameStat(cached, stat) ? 'stat-changed' : cached[4] === fresh ? 'unchanged' : 'content-changed-same-stat';
      files.push({ path: abs, status, sha256: fresh, ...(cached ? { cached: cached[4] } : {}) });
      onProgress?.(i + 1, listed.length);
    }
    return { sha256: digest(listed.map((f, i) => [f.rel, files[i]!.sha256])), files };
  }

  /** drops every entry of an asset path (one that is gone) */
  forget(path: string): void {
    const shard = this.shard(resolve(path));
    for (const rel of shard.entries.keys()) shard.touched.set(rel, null);
    shard.entries.clear();
  }

  /** the files of an asset path the cache holds, relative to it ('' for the path itself when it is a file) */
  cachedFiles(path: string): string[] {
    return [...this.shard(resolve(path)).entries.keys()].sort();
  }

  /** the asset paths the cache holds entries for (verify with no target re-hashes them all) */
  knownPaths(): string[] {
    if (!this.dir || !existsSync(this.dir)) return [];
    const roots: string[] = [];
    for (const name of readdirSync(this.dir).filter((n) => n.endsWith('.json')).sort()) {
      try {
        const root = (JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as { root?: unknown }).root;
        if (typeof root === 'string') roots.push(root);
      } catch {
        // a corrupt shard names nothing
      }
    }
    return roots.sort();
  }

  /**
   * Writes the entries this process hashed, merged into each file as it is now (another process may have added
   * some). A cache that cannot be written (read-only home, full disk) is left as it was: false, never an error.
   */
  async save(): Promise<boolean> {
    let wrote = false;
    for (const shard of this.shards.values()) {
      const file = shard.file;
      if (!file || shard.touched.size === 0) continue;
      const ok = await withFileLock(`${file}.lock`, async () => {
        const merged = existsSync(file) ? readShard(file, shard.root) : new Map<string, FileEntry>();
        for (const [rel, entry] of shard.touched) {
          if (entry) merged.set(rel, entry);
          else merged.delete(rel);
        }
        const entries = Object.fromEntries([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        await writeFileAtomically(file, JSON.stringify({ version: VERSION, root: shard.root, entries }));
      }).catch(() => false);
      if (ok) shard.touched.clear();
      wrote ||= ok;
    }
    return wrote;
  }

  private shard(root: string): Shard {
    let shard = this.shards.get(root);
    if (!shard) {
      const file = this.dir ? join(this.dir, `${sha256(root).slice(0, 32)}.json`) : null;
      shard = { root, file, entries: file && existsSync(file) ? readShard(file, root) : new Map(), touched: new Map() };
      this.shards.set(root, shard);
    }
    return shard;
  }

  private async rehash(shard: Shard, rel: string, abs: string, before: readonly string[]): Promise<string> {
    const startedNs = BigInt(Date.now()) * 1_000_000n;
    const hash = await sha256File(abs);
    const after = statSync(abs, { bigint: true });
    const stat = statOf(after);
    if (stat.every((x, i) => x === before[i]) && after.mtimeNs < startedNs - RACY_MARGIN_NS) {
      const entry: FileEntry = [...stat, hash];
      shard.entries.set(rel, entry);
      shard.touched.set(rel, entry);
    } else if (shard.entries.delete(rel)) shard.touched.set(rel, null);
    return hash;
  }

  /**
   * sha256Path's walk: the path itself when it is a file ('' relative) followed by its companions (relative to its
   * folder, in the rule's order), else its files in sorted order, hidden entries skipped
   */
  private list(shard: Shard): Listed[] {
    const root = shard.root;
    const top = statSync(root, { bigint: true });
    if (!top.isDirectory()) {
      const companions = this.companions(root).map((rel) => ({ rel, abs: join(dirname(root), rel) }));
      return [{ rel: '', abs: root, stat: statOf(top) }, ...companions.map((c) => ({ ...c, stat: statOf(statSync(c.abs, { bigint: true })) }))];
    }
    const out: Listed[] = [];
    const visit = (dir: string, prefix: string): void => {
      for (const name of readdirSync(dir).sort()) {
        if (name.startsWith('.')) continue;
        const abs = join(dir, name);
        const rel = prefix + name;
        const st = statSync(abs, { bigint: true });
        if (st.isDirectory()) visit(abs, `${rel}/`);
        else out.push({ rel, abs, stat: statOf(st) });
      }
    };
    visit(root, '');
    return out;
  }
}

interface Listed {
  rel: string;
  abs: string;
  stat: [string, string, string, string];
}

/**
 * a file's own sha256, or a folder's (or a file's with companions): the sha256 of its (relative path, file sha256)
 * list, as sha256Path (hashValue of string pairs is the sha256 of their plain JSON: no keys to sort, so 40K pairs
 * are not copied)
 */
const digest = (files: Array<[string, string]>): string => (files.length === 1 && files[0]![0] === '' ? files[0]![1] : sha256(JSON.stringify(files)));

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
