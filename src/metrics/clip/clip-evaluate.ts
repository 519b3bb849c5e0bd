// CLIP score of image files against captions: images streamed through the image tower (feature cache
// applies), captions through the tokenizer and the text tower, cosine per pair, then the named convention.
import { join } from 'node:path';
import { BadInputError } from '../../errors.js';
import type { FeatureCache } from '../feature-cache/index.js';
import { OnnxExtractor, streamFeatures, type SkippedImage } from '../extract/index.js';
import type { RgbImage } from '../image/index.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import { clipConvention, rowCosines, type ClipConventionName } from './clip-score.js';
import { ClipTokenizer } from './clip-tokenizer.js';
import { TextTower } from './text-tower.js';

/** the three files tools/export_clip.py writes into one folder */
export interface ClipModelFiles {
  image: string;
  text: string;
  tokenizer: string;
}

export const clipModelFiles = (dir: string): ClipModelFiles => ({
  image: join(dir, 'image.onnx'),
  text: join(dir, 'text.onnx'),
  tokenizer: join(dir, 'tokenizer.json'),
});

export class ClipModel {
  private constructor(
    readonly image: OnnxExtractor,
    readonly text: TextTower,
    readonly tokenizer: ClipTokenizer,
  ) {}

  static async load(files: ClipModelFiles, options: { provider?: ExecutionProvider | 'auto'; threads?: number } = {}): Promise<ClipModel> {
    const all = await OnnxExtractor.load(files.image, options);
    const image = all.select([all.outputs.includes('image_embeds') ? 'image_embeds' : all.outputs[0]!]);
    try {
      const text = await TextTower.load(files.text, options);
      try {
        return new ClipModel(image, text, ClipTokenizer.fromFile(files.tokenizer, text.contextLength));
      } catch (err) {
        await text.dispose();
        throw err;
      }
    } catch (err) {
      await image.dispose();
      throw err;
    }
  }

  async dispose(): Promise<void> {
    await this.image.dispose();
    await this.text.dispose();
  }
}

export interface ClipScoreOptions {
  convention: ClipConventionName;
  /** overrides the convention's caption prefix (the embedded world's captions take none) */
  prefix?: string;
  batchSize?: number;
  cache?: FeatureCache;
  skipBad?: boolean;
  signal?: AbortSignal;
  /** pairs scored so far, of all */
  onProgress?: (done: number, total: number) => void;
  /** the image decoder (default: the image module's), e.g. a memo the other metrics of a cell share */
  decode?: (bytes: Buffer, name: string) => Promise<RgbImage>;
}

export interface ClipScoreResult {
  score: number;
  convention: ClipConventionName;
  pairs: number;
  /** cosine of each scored pair, in input order */
  cosines: Float64Array;
  skipped: SkippedImage[];
  cacheHits: number;
}

/** scores images[i] against captions[i]. */
export async function clipScore(model: ClipModel, images: readonly string[], captions: readonly string[], options: ClipScoreOptions): Promise<ClipScoreResult> {
  if (images.length !== captions.length) {
    throw new BadInputError('CLIP_PAIRS_MISMATCH', `${images.length} images but ${captions.length} captions: they must pair one to one`);
  }
  if (images.length === 0) throw new BadInputError('TOO_FEW_IMAGES', 'no image/caption pairs to score');
  const convention = clipConvention(options.convention);
  const captionOf = new Map<string, number>();
  images.forEach((f, i) => captionOf.set(f, i));
  const cosines: number[] = [];
  const output = model.image.outputs[0]!;
  const result = await streamFeatures(
    images,
    {
      extractor: model.image,
      mode: convention.preprocess,
      batchSize: options.batchSize ?? 32,
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.skipBad !== undefined ? { skipBad: options.skipBad } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.decode ? { decode: options.decode } : {}),
    },
    async (batch) => {
      const prefix = options.prefix ?? convention.prefix;
      const texts = batch.files.map((f) => prefix + captions[captionOf.get(f)!]!);
      const textEmbeds = await model.text.embed(model.tokenizer.encodeBatch(texts), batch.rows);
      const imageEmbeds = batch.features[output]!;
      if (imageEmbeds.length !== textEmbeds.length) {
        throw new BadInputError('CLIP_DIMS_MISMATCH', `image embeddings have ${imageEmbeds.length / batch.rows} dims, text embeddings ${textEmbeds.length / batch.rows}`);
      }
      for (const c of rowCosines(imageEmbeds, textEmbeds, imageEmbeds.length / batch.rows)) cosines.push(c);
    },
  );
  if (cosines.length === 0) throw new BadInputError('TOO_FEW_IMAGES', `no readable images (${result.skipped.length} skipped)`);
  const values = Float64Array.from(cosines);
  return { score: convention.aggregate(values), convention: convention.name, pairs: values.length, cosines: values, skipped: result.skipped, cacheHits: result.cacheHits };
}
