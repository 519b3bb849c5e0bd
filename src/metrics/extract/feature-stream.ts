// images -> preprocessing -> onnx extractor -> features, in batches, in file order; rows go to a sink as they
// are ready, so memory holds one batch (plus the next one being decoded), whatever the number of images.
import { readFile } from 'node:fs/promises';
import { BadInputError } from '../../errors.js';
import type { FeatureCache } from '../feature-cache/index.js';
import { decodeImage, preprocess, type PlanarImage, type RgbImage } from '../image/index.js';
import { sha256 as sha256Of } from '../../util/hash.js';
import type { InputGeometry } from './onnx-extractor.js';

/** what the stream needs of an extractor (OnnxExtractor, or a stand-in in tests). */
export interface FeatureExtractor {
  readonly sha256: string;
  readonly input: InputGeometry;
  readonly outputs: readonly string[];
  run(batch: Float32Array, rows: number): Promise<Record<string, Float32Array>>;
  /** feature length of an output when the model fixes it (lets the first batch come from the cache) */
  declaredDims?(name: string): number | undefined;
}

export interface FeatureStreamOptions {
  extractor: FeatureExtractor;
  /** preprocessing mode name, as the image module's preprocess() takes it */
  mode: string;
  batchSize?: number;
  cache?: FeatureCache;
  /** a file that cannot be decoded is counted and left out instead of stopping the run */
  skipBad?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** swapped in tests; default: the image module's decodeImage / preprocess */
  decode?: (bytes: Buffer, name: string) => Promise<RgbImage>;
  preprocess?: (mode: string, img: RgbImage, size: number) => PlanarImage;
}

export interface SkippedImage {
  file: string;
  reason: string;
}

export interface FeatureStreamResult {
  /** images whose features went to the sink */
  images: number;
  skipped: SkippedImage[];
  cacheHits: number;
  /** feature length of each output */
  dims: Record<string, number>;
}

/** one batch of rows: for each output, rows x dims float32 (row-major), and the files they came from */
export interface FeatureBatch {
  files: readonly string[];
  rows: number;
  features: Record<string, Float32Array>;
}

interface LoadedImage {
  file: string;
  sha256: string;
  /** features found in the cache, by output */
  cached?: Record<string, Float32Array>;
  planar?: Float32Array;
}

function firstNonFinite(a: Float32Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const v = a[i]!;
    if (v - v !== 0) return i - from;
  }
  return -1;
}

export async function streamFeatures(
  files: readonly string[],
  options: FeatureStreamOptions,
  sink: (batch: FeatureBatch) => void | Promise<void>,
): Promise<FeatureStreamResult> {
  const { extractor, mode, cache } = options;
  const batchSize = options.batchSize ?? 50;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new BadInputError('BAD_BATCH_SIZE', `batch size must be a positive integer, got ${batchSize}`);
  const { channels, height, width } = extractor.input;
  if (channels !== 3 || height !== width) {
    throw new BadInputError('EXTRACTOR_BAD_INPUT', `the extractor takes ${channels}x${height}x${width} input; image modes need 3 x S x S`);
  }
  const decode = options.decode ?? decodeImage;
  const prep = options.preprocess ?? ((m: string, img: RgbImage, size: number) => preprocess(m, img, size));
  const perImage = channels * height * width;
  const dims: Record<string, number> = {};
  for (const output of extractor.outputs) {
    const d = extractor.declaredDims?.(output);
    if (d !== undefined) dims[output] = d;
  }
  const skipped: SkippedImage[] = [];
  let images = 0;
  let cacheHits = 0;
  let done = 0;

  const load = async (file: string): Promise<LoadedImage | SkippedImage> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      const reason = `cannot read image ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (options.skipBad) return { file, reason };
      throw new BadInputError('IMAGE_UNREADABLE', reason);
    }
    const sha256 = sha256Of(bytes);
    if (cache && extractor.outputs.every((o) => dims[o] !== undefined)) {
      const cached: Record<string, Float32Array> = {};
      let all = true;
      for (const output of extractor.outputs) {
        const hit = cache.get({ imageSha256: sha256, extractorSha256: extractor.sha256, mode, output }, dims[output]!);
        if (!hit) {
          all = false;
          break;
        }
        cached[output] = hit;
      }
      if (all) return { file, sha256, cached };
    }
    let img: RgbImage;
    try {
      img = await decode(bytes, file);
    } catch (err) {
      if (options.skipBad && err instanceof BadInputError) return { file, reason: err.message };
      throw err;
    }
    const planar = prep(mode, img, height);
    if (planar.data.length !== perImage) throw new RangeError(`preprocessing gave ${planar.data.length} values, the extractor takes ${perImage}`);
    return { file, sha256, planar: planar.data };
  };

  const loadChunk = (chunk: readonly string[]): Promise<Array<LoadedImage | SkippedImage>> => {
    const p = Promise.all(chunk.map(load));
    // a prefetched chunk may fail while an earlier one is still running (or has failed): it is awaited (and
    // rethrown) in its turn, never reported as unhandled
    p.catch(() => undefined);
    return p;
  };

  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += batchSize) chunks.push(files.slice(i, i + batchSize));
  let next = chunks.length > 0 ? loadChunk(chunks[0]!) : undefined;
  for (let c = 0; c < chunks.length; c++) {
    options.signal?.throwIfAborted();
    const loaded = await next!;
    // decode the next chunk while this one runs through the network (only when dims are known, else the
    // cache lookups of the next chunk would all miss)
    const known = extractor.outputs.every((o) => dims[o] !== undefined);
    next = c + 1 < chunks.length && (known || !cache) ? loadChunk(chunks[c + 1]!) : undefined;
    const ok: LoadedImage[] = [];
    for (const item of loaded) {
      if ('reason' in item) skipped.push(item);
      else ok.push(item);
    }
    const toRun = ok.filter((item) => item.planar !== undefined);
    let computed: Record<string, Float32Array> = {};
    if (toRun.length > 0) {
      const batch = new Float32Array(toRun.length * perImage);
      toRun.forEach((item, i) => {
        batch.set(item.planar!, i * perImage);
        // the batch holds it now: let the collector take the image's own copy while the network runs
        delete item.planar;
      });
      computed = await extractor.run(batch, toRun.length);
      for (const output of extractor.outputs) {
        const d = computed[output]!.length / toRun.length;
        if (dims[output] === undefined) dims[output] = d;
        else if (dims[output] !== d) throw new BadInputError('STATS_DIMS_MISMATCH', `extractor output ${output} changed from ${dims[output]} to ${d} features`);
      }
    }
    const rows = ok.length;
    const features: Record<string, Float32Array> = {};
    for (const output of extractor.outputs) features[output] = new Float32Array(rows * (dims[output] ?? 0));
    let k = 0;
    // cache writes (write-then-rename with fsync) overlap each other; the chunk waits for all of them
    const writes: Array<Promise<void>> = [];
    for (let r = 0; r < rows; r++) {
      const item = ok[r]!;
      for (const output of extractor.outputs) {
        const d = dims[output]!;
        let row: Float32Array;
        if (item.cached) {
          row = item.cached[output]!;
        } else {
          row = computed[output]!.subarray(k * d, (k + 1) * d);
          const bad = firstNonFinite(row, 0, d);
          if (bad >= 0) {
            throw new BadInputError('STATS_NON_FINITE', `features of ${item.file} are not finite (${row[bad]} at ${output}[${bad}])`, 'check the extractor model and the preprocessing mode');
          }
          if (cache) writes.push(cache.put({ imageSha256: item.sha256, extractorSha256: extractor.sha256, mode, output }, row));
        }
        features[output]!.set(row, r * d);
      }
      if (item.cached) cacheHits++;
      else k++;
    }
    await Promise.all(writes);
    if (rows > 0) await sink({ files: ok.map((i) => i.file), rows, features });
    images += rows;
    done += chunks[c]!.length;
    options.onProgress?.(done, files.length);
    if (next === undefined && c + 1 < chunks.length) next = loadChunk(chunks[c + 1]!);
  }
  return { images, skipped, cacheHits, dims };
}
