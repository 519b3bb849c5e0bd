// Reads back every file a run store (and a feature cache, a report folder) holds, the way a later reader would:
// a file that does not parse is corrupt; a file that is not the product of a finished write is a leftover.
import { readdirSync, readFileSync, lstatSync, existsSync } from 'node:fs';
import { join, relative, basename } from 'node:path';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { decodeImage } from '../../src/metrics/image/decode.js';
import { decodeNpz } from '../../src/metrics/stats/npz-stats.js';
import { decodeNpy } from '../../src/metrics/stats/npy-format.js';

export interface StoreProblems {
  /** files under their final name that a reader cannot read: `path: reason` */
  corrupt: string[];
  /** write-file-atomic temp files, stage `.work` folders, stale lock files still there after a finished run */
  leftovers: string[];
  /** files read back (all kinds) */
  checked: number;
}

// writeFileAtomically's temp files are `.<final name>.<8 hex>.tmp`; write-file-atomic's were `<final name>.<murmur hex>`
const ATOMIC_TEMP = /^\..+\.[0-9a-f]{8}\.tmp$|\.[0-9a-f]{1,8}$|\.\d{1,10}$/;
const LOCK = /\.lock$|\.lock\.stale-/;

export async function checkStore(root: string, options: { finished: boolean }): Promise<StoreProblems> {
  const problems: StoreProblems = { corrupt: [], leftovers: [], checked: 0 };
  if (!existsSync(root)) return problems;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (entry.isSymbolicLink()) {
        // artifacts/<stage> links must point at a published stage folder
        if (!existsSync(path)) problems.corrupt.push(`${rel}: dangling link`);
        continue;
      }
      if (entry.isDirectory()) {
        if (options.finished && entry.name.endsWith('.work')) problems.leftovers.push(rel);
        await walk(path);
        continue;
      }
      if (options.finished && LOCK.test(entry.name)) {
        problems.leftovers.push(rel);
        continue;
      }
      const reason = await readBack(path);
      problems.checked++;
      if (reason === 'temp') {
        if (options.finished) problems.leftovers.push(rel);
      } else if (reason) problems.corrupt.push(`${rel}: ${reason}`);
    }
  };
  await walk(root);
  return problems;
}

/** undefined when the file reads back as what its name says; 'temp' for an atomic writer's temp file */
async function readBack(path: string): Promise<string | undefined> {
  const name = basename(path);
  try {
    if (ATOMIC_TEMP.test(name) && !/\.(json|jsonl|safetensors|png|jpg|npz|npy|f32)$/.test(name)) return 'temp';
    // a log may be empty, and so may a block of zero feature rows (a prepare block of undecodable images)
    if (lstatSync(path).size === 0 && !name.endsWith('.log') && !name.endsWith('.f32')) return 'empty file';
    if (name.endsWith('.json')) {
      JSON.parse(readFileSync(path, 'utf8'));
    } else if (name.endsWith('.jsonl')) {
      // an append-only log may end in a torn line after a kill: every complete line must parse
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      const complete = text.endsWith('\n') ? lines.slice(0, -1) : lines.slice(0, -1);
      for (const line of complete) if (line.trim()) JSON.parse(line);
    } else if (name.endsWith('.safetensors')) {
      const view = openSafetensors(path);
      for (const n of view.names()) view.read(n);
    } else if (name.endsWith('.png') || name.endsWith('.jpg')) {
      await decodeImage(path);
    } else if (name.endsWith('.npz')) {
      decodeNpz(readFileSync(path), path);
    } else if (name.endsWith('.npy')) {
      decodeNpy(readFileSync(path), path);
    } else if (name.endsWith('.f32')) {
      if (readFileSync(path).byteLength % 4 !== 0) return 'not a whole number of float32';
    }
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
