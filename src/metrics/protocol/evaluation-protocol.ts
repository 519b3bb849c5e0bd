/**
 * Evaluation protocols as data: the named fields that fix a metric's value, so a run can be set beside a paper's
 * number only when they agree. Names where papers state names (dataset, caption protocol, reference set and its
 * resize, FID mode, CLIP model), hashes beside them under `*_sha256` keys where files pin them (a paper states no
 * hash, so a hash never blocks a comparison, yet two of our runs with different files never share a column).
 *
 * Field names are the ones experiments/references/*.yaml use:
 *   dataset           'coco2014-val' (a copy with the official counts), else what the copy is
 *   captions          caption protocol name (src/data/caption-protocols.ts), captions_sha256 its fingerprint
 *   n_samples         generated images measured
 *   reference         reference image set ('coco2014-val'), reference_sha256 the statistics file or folder
 *   reference_resize  resize protocol of the reference images (src/prepare/resize-protocols.ts)
 *   resolution        side of the reference images the features were computed from
 *   mode              FID preprocessing mode (clean / legacy-pytorch / legacy-tensorflow)
 *   extractor         feature network by name, extractor_sha256 its ONNX file (and external data)
 *   model             CLIP model by name, model_sha256 its towers
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { InputGeometry } from '../extract/index.js';
import { onnxModelDigest } from '../extract/onnx-external-data.js';

/** the paper-facing name of a dataset copy: the official release when its counts are the release's */
export function datasetName(official: boolean, found: { images: number; captions: number }): string {
  return official ? 'coco2014-val' : `coco2014-val copy with ${found.images} images and ${found.captions} captions`;
}

/**
 * Name of an ONNX feature network from what it declares: the FID Inception (2048 features from 299x299 input,
 * pool3 of tools/export_inception.py) is `inception-v3-fid`; anything else is named by its file. Weights are told
 * apart by extractor_sha256, never by this name.
 */
export function extractorName(file: string, input: InputGeometry, dims: number | undefined): string {
  if (dims === 2048 && input.height === 299 && input.width === 299) return 'inception-v3-fid';
  return `onnx:${file.replace(/^.*[\\/]/, '')}`;
}

/** what a prepared reference statistics file fixes of a FID */
export interface ReferenceStatisticsProtocol {
  dataset: string;
  reference: string;
  reference_resize: string;
  resolution: number;
  mode: string;
  extractor: string;
  extractor_sha256: string;
  reference_images: number;
}

/**
 * Name of a CLIP model from the export.json tools/export_clip.py writes beside its towers ("open_clip ViT-g-14
 * laion2b_s12b_b42k", the name papers state), trusted only when it names both towers by their sha256; otherwise
 * the folder's name, and model_sha256 tells the weights apart.
 */
export function clipModelName(imageTower: string, imageSha256: string, textSha256: string): string {
  const dir = dirname(imageTower);
  try {
    const info = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as { source?: unknown; files?: Record<string, unknown> };
    const files = Object.entries(info.files ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string');
    // a tower's identity covers its external data (onnx-external-data.ts): the exporter writes <tower>.onnx.data
    const hashes = files.map(([name, sha]) => onnxModelDigest(sha, files.filter(([data]) => data === `${name}.data`)));
    if (typeof info.source === 'string' && hashes.includes(imageSha256) && hashes.includes(textSha256)) return info.source;
  } catch {
    // no export.json, or not ours: named by folder below
  }
  return `onnx:${basename(dir)}`;
}
