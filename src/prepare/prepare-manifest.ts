/**
 * manifest.json of a prepared COCO-2014 folder: every output named with its count, sha256 and protocol, the
 * validation findings and every image left out with the reason. No timestamps: a resumed or sharded prepare of
 * the same inputs writes the same bytes as one uninterrupted run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BadInputError } from '../errors.js';
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

/** what a FID/KID record states of its reference */
export interface ReferenceFields {
  reference: string;
  reference_sha256: string | null;
  reference_resize?: string;
  resolution?: number;
}

/**
 * The protocol fields of a metric's reference: a prepared statistics file gives its names (dataset, resize,
 * side) and must have been made in the metric's mode with the metric's extractor (else its numbers measure
 * something else: a BadInputError naming both); anything else is named by what it is, with its hash.
 */
export async function referenceFields(path: string, mode: string, extractorSha256: string | undefined, fallback: { reference: string; sha256: string | null }): Promise<ReferenceFields> {
  const folder = preparedFolder(path);
  if (folder) return { reference: folder.dataset, reference_sha256: folder.entry.list.sha256, reference_resize: folder.entry.protocol, resolution: folder.entry.side };
  const prepared = fallback.sha256 !== null && path.endsWith('.npz') ? await findPreparedStatistics(path) : null;
  if (!prepared) return { reference: fallback.reference, reference_sha256: fallback.sha256 };
  const p = prepared.entry.protocol;
  if (p.mode !== mode) {
    throw new BadInputError('REFERENCE_PROTOCOL_MISMATCH', `${path} holds ${p.mode} statistics (${prepared.manifest}); this metric measures in mode ${mode}`, `use ${prepared.entry.file.replace(`-${p.mode}.npz`, `-${mode}.npz`)} or set the metric's mode to ${p.mode}`);
  }
  if (extractorSha256 !== undefined && p.extractor_sha256 !== extractorSha256) {
    throw new BadInputError('REFERENCE_PROTOCOL_MISMATCH', `${path} was made with extractor ${p.extractor_sha256.slice(0, 12)} (${prepared.manifest}); this metric runs ${extractorSha256.slice(0, 12)}`, 'prepare the references with the same --inception file the metric names');
  }
  return { reference: p.reference, reference_sha256: prepared.entry.sha256, reference_resize: p.reference_resize, resolution: p.resolution };
}

/** a prepared reference image folder (DIR/references/<protocol>) and the manifest entry naming it */
function preparedFolder(path: string): { dataset: string; entry: PreparedManifest['references'][number] } | null {
  const dir = resolve(path);
  const manifestPath = join(dirname(dirname(dir)), 'manifest.json');
  if (!existsSync(manifestPath)) return null;
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PreparedManifest;
    if (manifest.kind !== PREPARED_KIND) return null;
    const entry = manifest.references.find((r) => resolve(dirname(manifestPath), r.folder) === dir);
    return entry ? { dataset: manifest.dataset, entry } : null;
  } catch {
    return null;
  }
}

/**
 * The dataset name a prepared folder gave the annotations file with this sha256, found through any of the
 * given metric references that is a prepared statistics file; null when none is.
 */
export async function preparedDatasetName(annotationsSha256: string, references: readonly string[]): Promise<string | null> {
  for (const ref of references) {
    if (!ref.endsWith('.npz') || !existsSync(ref)) continue;
    const prepared = await findPreparedStatistics(ref);
    if (!prepared) continue;
    const manifest = JSON.parse(readFileSync(prepared.manifest, 'utf8')) as PreparedManifest;
    if (manifest.annotations.sha256 === annotationsSha256) return manifest.dataset;
  }
  return null;
}
