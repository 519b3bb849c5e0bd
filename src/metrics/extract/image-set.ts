// an image folder through an extractor: streamed into mean/covariance (FID) or kept as a matrix (KID).
import { BadInputError } from '../../errors.js';
import { FeatureAccumulator, featureMatrix, type FeatureMatrix, type FeatureStats } from '../stats/index.js';
import { streamFeatures, type FeatureStreamOptions, type FeatureStreamResult } from './feature-stream.js';
import { listImages, type ListingRule } from './image-list.js';
import type { FidMode } from './fid-modes.js';

/** the FID preprocessing modes (names as the image module's preprocess() takes them). */
export { FID_MODES, isFidMode, type FidMode } from './fid-modes.js';

export interface ModeConvention {
  /** whose folder listing the mode follows */
  listing: ListingRule;
  /** clean-fid takes np.mean of its float32 feature array; pytorch-fid and torchmetrics average in float64 */
  mean: 'float32' | 'float64';
}

export const MODE_CONVENTIONS: Readonly<Record<FidMode, ModeConvention>> = {
  clean: { listing: 'clean-fid', mean: 'float32' },
  'legacy-tensorflow': { listing: 'clean-fid', mean: 'float32' },
  'legacy-pytorch': { listing: 'pytorch-fid', mean: 'float64' },
  torchmetrics: { listing: 'clean-fid', mean: 'float64' },
};


export interface ImageSetOptions extends Omit<FeatureStreamOptions, 'mode'> {
  mode: FidMode;
  /** the extractor output holding the features (e.g. 'pool3') */
  output: string;
  /** at least this many usable images (FID, KID: 2) */
  minImages?: number;
}

export interface ImageSetSummary extends Omit<FeatureStreamResult, 'dims'> {
  folder: string;
  files: number;
  dims: number;
}

function listOrFail(folder: string, mode: FidMode): string[] {
  const files = listImages(folder, MODE_CONVENTIONS[mode].listing);
  if (files.length === 0) throw new BadInputError('TOO_FEW_IMAGES', `${folder} holds no images (png, jpg, jpeg, webp, bmp, tif, ppm, pgm)`);
  return files;
}

function checkCount(folder: string, result: FeatureStreamResult, min: number): void {
  if (result.images < min) {
    const skipped = result.skipped.length > 0 ? ` (${result.skipped.length} skipped as unreadable)` : '';
    throw new BadInputError('TOO_FEW_IMAGES', `${folder} has ${result.images} usable image(s)${skipped}; at least ${min} are needed`);
  }
}

/** mean and unbiased covariance of a folder's features; memory stays at one batch plus the dims x dims state. */
export async function imageSetStatistics(folder: string, options: ImageSetOptions): Promise<{ stats: FeatureStats; summary: ImageSetSummary }> {
  const files = listOrFail(folder, options.mode);
  let acc: FeatureAccumulator | undefined;
  const result = await streamFeatures(files, { ...options, mode: options.mode }, (batch) => {
    const rows = batch.features[options.output]!;
    acc ??= new FeatureAccumulator(rows.length / batch.rows);
    acc.add(rows);
  });
  checkCount(folder, result, options.minImages ?? 2);
  const stats = acc!.finalize({ mean: MODE_CONVENTIONS[options.mode].mean });
  return { stats, summary: { folder, files: files.length, images: result.images, skipped: result.skipped, cacheHits: result.cacheHits, dims: acc!.dims } };
}

/** every feature row of a folder (KID, precision/recall need them all). */
export async function imageSetFeatures(folder: string, options: ImageSetOptions): Promise<{ features: FeatureMatrix; summary: ImageSetSummary }> {
  const files = listOrFail(folder, options.mode);
  const parts: Float32Array[] = [];
  const result = await streamFeatures(files, { ...options, mode: options.mode }, (batch) => {
    parts.push(batch.features[options.output]!);
  });
  checkCount(folder, result, options.minImages ?? 2);
  const dims = result.dims[options.output]!;
  const all = new Float32Array(result.images * dims);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { features: featureMatrix(all, dims), summary: { folder, files: files.length, images: result.images, skipped: result.skipped, cacheHits: result.cacheHits, dims } };
}
