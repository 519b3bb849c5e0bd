// features of single images on disk, keyed by (image content sha256, extractor sha256, preprocessing mode,
// output name): evaluating the same images again with the same network and mode reads them back.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BadInputError } from '../../errors.js';
import { sweepStaleTempFiles, writeFileAtomically } from '../../util/atomic-write.js';
import { crc32 } from '../stats/zip-archive.js';

export interface FeatureCacheKey {
  imageSha256: string;
  extractorSha256: string;
  mode: string;
  output: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export class FeatureCache {
  private hits = 0;
  private misses = 0;
  /** leaf folders this process has swept of dead writers' temp files */
  private readonly swept = new Set<string>();

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new BadInputError('FEATURE_CACHE_UNWRITABLE', `cannot create feature cache folder ${dir}: ${(err as Error).message}`, 'pass --cache DIR or --no-cache');
    }
  }

  /** <dir>/<extractor sha256>/<mode>/<output>/<first 2 hex of the image hash>/<image sha256>.f32 */
  pathOf(key: FeatureCacheKey): string {
    if (!HEX64.test(key.imageSha256) || !HEX64.test(key.extractorSha256)) throw new RangeError('feature cache keys are lower-case sha256 hex digests');
    if (!SEGMENT.test(key.mode)) throw new RangeError(`preprocessing mode names are plain file-name segments, got ${key.mode}`);
    // output names come from the user's ONNX model (TF exports name them like `pool_3:0`)
    if (!SEGMENT.test(key.output)) throw new BadInputError('FEATURE_CACHE_OUTPUT_NAME', `extractor output "${key.output}" cannot name a feature cache folder (letters, digits, . _ - only)`, 'pass --no-cache, or rename the output when exporting the model');
    return join(this.dir, key.extractorSha256, key.mode, key.output, key.imageSha256.slice(0, 2), `${key.imageSha256}.f32`);
  }

  /**
   * the stored features, or undefined when absent, of another length or failing their CRC-32 (a torn, damaged or
   * foreign file counts as absent, so the features are computed again and the entry rewritten).
   */
  get(key: FeatureCacheKey, dims: number): Float32Array | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.pathOf(key));
    } catch {
      this.misses++;
      return undefined;
    }
    if (bytes.byteLength !== dims * 4 + 4 || crc32(bytes.subarray(0, dims * 4)) !== bytes.readUInt32LE(dims * 4)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // little-endian float32 on disk; copy into an aligned buffer
    const out = new Float32Array(dims);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < dims; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }

  async put(key: FeatureCacheKey, features: Float32Array): Promise<void> {
    // the values, then a CRC-32 of them: a flipped bit must not pass for a feature vector
    const bytes = new Uint8Array(features.length * 4 + 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < features.length; i++) view.setFloat32(i * 4, features[i]!, true);
    view.setUint32(features.length * 4, crc32(bytes.subarray(0, features.length * 4)), true);
    const path = this.pathOf(key);
    // the cache is shared by every process of the user: a write killed here left its temp file, which only a sweep
    // that knows the writer is gone may take (util/atomic-write.ts). Once per leaf folder and process, where
    // entries are being written anyway (a killed write's entry is missing, so its rerun writes into its folder)
    const leaf = dirname(path);
    if (!this.swept.has(leaf)) {
      this.swept.add(leaf);
      sweepStaleTempFiles(leaf);
    }
    await writeFileAtomically(path, bytes);
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }
}
