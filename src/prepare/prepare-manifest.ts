/**
 * manifest.json of a prepared COCO-2014 folder: every output named with its count, sha256 and protocol, the
 * validation findings and every image left out with the reason. No timestamps: a resumed or sharded prepare of
 * the same inputs writes the same bytes as one uninterrupted run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ReferenceStatisticsProtocol } from '../metrics/protocol/evaluation-protocol.js';
import { sha256File } from '../util/hash.js';
import type { CaptionSubsetRecord } from './caption-subsets.js';
import type { CocoValidation } from './coco-validate.js';

export const PREPARED_KIND = 'vsdlab-coco2014-prepared';

export interface PreparedManifest {
  kind: typeof PREPARED_KIND;
  version: 1;
  dataset: string;
  annotations: { file: string; sha256: string; images: number; captions: number };
  validation: CocoValidation;
  decoding: {
    policy: string;
    /** images the reference sets hold */
    ok: number;
    missing: Array<{ file_name: string; reason: string }>;
    skipped: Array<{ file_name: string; reason: string }>;
    /** note → how many images had it (grayscale, cmyk, progressive, exif-orientation-N-ignored, alpha-dropped) */
    notes: Record<string, number>;
    noted: Array<{ file_name: string; notes: string[] }>;
  };
  captions: CaptionSubsetRecord[];
  references: Array<{ protocol: string; description: string; side: number; folder: string; images: number; list: { file: string; sha256: string } }>;
  statistics: Array<{ file: string; sha256: string; images: number; dims: number; protocol: ReferenceStatisticsProtocol }>;
  layout: { block_size: number; blocks: number };
  warnings: string[];
}

export const DECODING_POLICY =
  "as Pillow's Image.open(f).convert('RGB'): EXIF orientation ignored, grey replicated, alpha dropped, CMYK by Pillow's rule; " +
  'a file that cannot be decoded (truncated, not an image) and a listed file that is absent are left out of every reference set and named here ' +
  '(--strict makes either an error)';

/**
 * The prepared reference statistics that `path` is, found through the manifest.json of its prepared folder
 * (DIR/statistics/x.npz → DIR/manifest.json) and matched by sha256; null when it is none.
 */
export async function findPreparedStatistics(path: string): Promise<{ manifest: string; entry: PreparedManifest['statistics'][number] } | null> {
  const manifestPath = join(dirname(dirname(resolve(path))), 'manifest.json');
  if (!existsSync(manifestPath)) return null;
  let manifest: PreparedManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PreparedManifest;
  } catch {
    return null;
  }
  if (manifest.kind !== PREPARED_KIND || !Array.isArray(manifest.statistics)) return null;
  const digest = await sha256File(path);
  const entry = manifest.statistics.find((s) => s.sha256 === digest);
  return entry ? { manifest: manifestPath, entry } : null;
}
