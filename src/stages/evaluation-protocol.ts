/**
 * The protocol record every evaluate-stage metric shares (src/metrics/protocol/evaluation-protocol.ts names the
 * fields): the dataset by the name its prepared folder gave it, the caption protocol by name and count with the
 * caption fingerprint beside it, and the number of images measured.
 */
import { basename } from 'node:path';
import type { CellConfig } from '../config/schema.js';
import type { ExtractorInfo, SetStatistics } from '../metrics/evaluation/index.js';
import { extractorName } from '../metrics/protocol/evaluation-protocol.js';
import { preparedDatasetName, referenceFields, type ReferenceFields } from '../prepare/index.js';
import type { Protocol } from '../tracking/results.js';
import { sha256File } from '../util/hash.js';

export async function baseProtocol(evaluate: CellConfig['evaluate'], captionsFingerprint: string | null, samples: number): Promise<Protocol> {
  const c = evaluate.captions;
  if (!c) return { dataset: null, captions: null, captions_sha256: captionsFingerprint, n_samples: samples };
  const sha = await sha256File(c.annotations).catch(() => null);
  const references = evaluate.metrics.flatMap((m) => ('reference' in m ? [m.reference] : []));
  const dataset = (sha !== null ? await preparedDatasetName(sha, references) : null) ?? `file:${basename(c.annotations)}`;
  return { dataset, dataset_sha256: sha, captions: c.protocol, caption_count: c.count, captions_sha256: captionsFingerprint, n_samples: samples };
}

/**
 * The fields of a feature-network metric (FID, KID, precision/recall): its reference (prepared: by name), the
 * resize protocol the generated images went through first (`fid.resolution`; `none`: straight into the network's
 * preprocessing, where SwiftBrush v2 centre-crops and LANCZOS-resizes them to 256 first), the FID mode and the
 * extractor by name and hash. `resolution` is the side of the reference images when a prepared folder states it.
 */
export function featureMetricProtocol(reference: ReferenceFields, mode: string, extractor: Pick<ExtractorInfo, 'path' | 'sha256' | 'input'>, dims: number, generatedResize?: string): Protocol {
  return {
    ...reference,
    resolution: reference.resolution ?? null,
    generated_resize: generatedResize ?? 'none',
    mode,
    extractor: extractorName(extractor.path, extractor.input, dims),
    extractor_sha256: extractor.sha256,
  };
}

/**
 * The protocol of `vsdlab fid A B`: the reference is whichever path a prepared folder names (else the first),
 * the other set is what was measured.
 */
export async function fidCommandProtocol(sets: readonly SetStatistics[], mode: string, extractor: ExtractorInfo | undefined): Promise<Protocol> {
  const fallbackOf = async (s: SetStatistics) => (s.summary ? { reference: `folder:${s.summary.folder}:${s.summary.images}`, sha256: null } : { reference: `npz:${basename(s.path)}`, sha256: await sha256File(s.path) });
  const named = await Promise.all(sets.map(async (s) => referenceFields(s.path, mode, extractor?.sha256, await fallbackOf(s))));
  const r = Math.max(0, named.findIndex((f) => f.reference_resize !== undefined));
  const measuredSet = sets[1 - r];
  const reference = named[r]!;
  const n = measuredSet?.summary?.images ?? null;
  const fields = extractor ? featureMetricProtocol(reference, mode, extractor, sets[0]!.stats.mu.length) : { ...reference, resolution: reference.resolution ?? null, mode, extractor: null, extractor_sha256: null };
  return { n_samples: n, ...fields };
}
