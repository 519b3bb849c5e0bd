import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { sha256 } from '../util/hash.js';

export const MANIFEST_NAME = 'manifest.json';

export const ManifestFileSchema = z.strictObject({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const DatasetManifestSchema = z.looseObject({
  manifestVersion: z.literal(1),
  generator: z.string(),
  /** sha256 of the sorted `path sha256` lines: the folder's identity, independent of the manifest's other keys */
  filesSha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ManifestFileSchema),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

/** sha256 of `path  sha256\n` lines sorted by path (the sha256sum format) */
export function filesDigest(files: readonly ManifestFile[]): string {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return sha256(lines);
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(root, p)));
    else if (ent.isFile()) out.push(relative(root, p).split(sep).join('/'));
  }
  return out;
}

/** hashes every file under `root` except the manifest itself, sorted by path */
export async function hashTree(root: string): Promise<ManifestFile[]> {
  const paths = (await listFiles(root)).filter((p) => p !== MANIFEST_NAME).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: ManifestFile[] = [];
  for (const path of paths) {
    const bytes = await readFile(join(root, path));
    files.push({ path, bytes: bytes.length, sha256: sha256(bytes) });
  }
  return files;
}

export interface ManifestCheck {
  ok: boolean;
  missing: string[];
  changed: string[];
  extra: string[];
}

/** reads `root/manifest.json` and compares it with the files on disk */
export async function verifyDatasetManifest(root: string): Promise<ManifestCheck & { manifest: DatasetManifest }> {
  const path = join(root, MANIFEST_NAME);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new BadInputError('MANIFEST_INVALID', `${path}: cannot read manifest (${(e as Error).message})`);
  }
  const parsed = DatasetManifestSchema.safeParse(value);
  if (!parsed.success) throw new BadInputError('MANIFEST_INVALID', `${path}: ${parsed.error.issues[0]?.message ?? 'invalid manifest'}`);
  const manifest = parsed.data;
  const onDisk = new Map((await hashTree(root)).map((f) => [f.path, f]));
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const missing = [...listed.keys()].filter((p) => !onDisk.has(p));
  const extra = [...onDisk.keys()].filter((p) => !listed.has(p));
  const changed = [...listed.values()].filter((f) => onDisk.has(f.path) && onDisk.get(f.path)?.sha256 !== f.sha256).map((f) => f.path);
  return { ok: missing.length + extra.length + changed.length === 0, missing, changed, extra, manifest };
}
