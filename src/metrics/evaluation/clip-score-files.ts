// CLIP score from model files: loads the towers, opens the feature cache, scores, lets the models go.
import { ClipModel, clipScore, type ClipConventionName, type ClipModelFiles, type ClipScoreResult } from '../clip/index.js';
import type { RgbImage } from '../image/index.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import type { ExtractorPool } from './extractor-pool.js';
import { openFeatureCache, type FeatureCacheChoice } from './feature-cache-choice.js';

export interface ClipScoreFilesOptions {
  convention: ClipConventionName;
  /** overrides the convention's caption prefix */
  prefix?: string;
  batchSize: number;
  skipBad?: boolean;
  cache?: FeatureCacheChoice;
  /** default: auto (cuda when onnxruntime-node has it) */
  provider?: ExecutionProvider | 'auto';
  /** onnxruntime intra-op threads; 0 or absent: onnxruntime's choice */
  threads?: number;
  signal?: AbortSignal;
  /** pairs scored so far, of all */
  onProgress?: (done: number, total: number) => void;
  /** sessions kept across calls (the evaluate stage's): the towers come from it by content and stay open */
  models?: ExtractorPool;
  /** the image decoder (default: the image module's), e.g. a memo shared by the metrics of a cell */
  decode?: (bytes: Buffer, name: string) => Promise<RgbImage>;
}

/** the model files a score was made with */
export interface ClipModelsInfo {
  image: { path: string; sha256: string };
  text: { path: string; sha256: string };
}

/** scores images[i] against captions[i] with the CLIP model in `files` */
export async function clipScoreOfFiles(
  files: ClipModelFiles,
  images: readonly string[],
  captions: readonly string[],
  o: ClipScoreFilesOptions,
): Promise<{ result: ClipScoreResult; models: ClipModelsInfo }> {
  const model = o.models ? await o.models.clip(files) : await ClipModel.load(files, { ...(o.provider ? { provider: o.provider } : {}), ...(o.threads ? { threads: o.threads } : {}) });
  try {
    const cache = openFeatureCache(o.cache);
    const result = await clipScore(model, images, captions, {
      convention: o.convention,
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      batchSize: o.batchSize,
      ...(o.skipBad !== undefined ? { skipBad: o.skipBad } : {}),
      ...(cache ? { cache } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.decode ? { decode: o.decode } : {}),
    });
    return { result, models: { image: { path: model.image.path, sha256: model.image.sha256 }, text: { path: model.text.path, sha256: model.text.sha256 } } };
  } finally {
    if (!o.models) await model.dispose();
  }
}
