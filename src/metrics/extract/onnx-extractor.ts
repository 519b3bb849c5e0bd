// an onnx feature extractor run by onnxruntime-node: one float32 NCHW input, outputs picked by name.
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { BadInputError, MissingAssetError } from '../../errors.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import { openOnnxSession } from '../../onnx/session.js';
import { onnxExternalDataFiles, sha256OnnxModel } from './onnx-external-data.js';

export interface ExtractorOptions {
  /** outputs to return, by name (default: every output of the model) */
  outputs?: readonly string[];
  /** intra-op threads (default: onnxruntime's choice) */
  threads?: number;
  provider?: ExecutionProvider | 'auto';
  /**
   * images per onnxruntime run: a longer batch is run in slices of this many rows, so memory stays flat whatever
   * batch the caller streams (default: CPU_ROWS_PER_RUN on the CPU provider, the whole batch on CUDA).
   * The rows of a CNN extractor do not meet, and the features come out the same bits for any slicing
   * (test/metrics/extract/extractor-slices.test.ts).
   */
  maxRowsPerRun?: number;
}

/**
 * the CPU provider's default slice: the FID Inception holds about 12 MB of activations per row (whole-process
 * peak RSS 0.5 GB at 16 rows, 0.9 GB at 48) and runs 16 rows within ~10 % of the throughput of 48 (BENCHMARKS.md
 * "`vsdlab fid` end to end")
 */
export const CPU_ROWS_PER_RUN = 16;

/** the square (or not) image the model declares: channels, height, width. */
export interface InputGeometry {
  channels: number;
  height: number;
  width: number;
}

type Metadata = ort.InferenceSession.ValueMetadata;

function tensorShape(m: Metadata | undefined): ReadonlyArray<number | string> | undefined {
  return m && m.isTensor ? m.shape : undefined;
}

const fixed = (v: number | string | undefined): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);

export class OnnxExtractor {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
    /** sha256 of the model file and its external data (the cache key and the provenance record; onnx-external-data.ts) */
    readonly sha256: string,
    readonly inputName: string,
    readonly input: InputGeometry,
    readonly outputs: readonly string[],
    readonly provider: ExecutionProvider,
    /** rows per onnxruntime run (see ExtractorOptions.maxRowsPerRun) */
    readonly maxRowsPerRun: number,
  ) {}

  static async load(path: string, options: ExtractorOptions = {}): Promise<OnnxExtractor> {
    if (!existsSync(path)) throw new MissingAssetError('EXTRACTOR_MISSING', `extractor model ${path} does not exist`, 'export one with tools/export_inception.py');
    // a missing external-data file is named here, before onnxruntime reports it as an opaque load failure
    const dataFiles = onnxExternalDataFiles(path);
    const { session, provider } = await openOnnxSession(
      path,
      { optimize: true, memPattern: false, ...(options.provider ? { provider: options.provider } : {}), ...(options.threads !== undefined ? { threads: options.threads } : {}) },
      (reason) => new BadInputError('EXTRACTOR_UNREADABLE', `cannot load ONNX model ${path}: ${reason}`),
    );
    if (session.inputNames.length !== 1) {
      throw new BadInputError('EXTRACTOR_BAD_MODEL', `${path} has ${session.inputNames.length} inputs; a feature extractor takes one NCHW image batch`);
    }
    const inputName = session.inputNames[0]!;
    const shape = tensorShape(session.inputMetadata[0]);
    const [channels, height, width] = [fixed(shape?.[1]), fixed(shape?.[2]), fixed(shape?.[3])];
    if (!shape || shape.length !== 4 || channels === undefined || height === undefined || width === undefined) {
      throw new BadInputError('EXTRACTOR_BAD_MODEL', `${path}: input ${inputName} must be N x C x H x W with fixed C, H, W, got [${shape?.join(', ') ?? '?'}]`);
    }
    const wanted = options.outputs ?? session.outputNames;
    for (const name of wanted) {
      if (!session.outputNames.includes(name)) {
        throw new BadInputError('EXTRACTOR_NO_OUTPUT', `${path} has no output named "${name}"`, `its outputs: ${session.outputNames.join(', ')}`);
      }
    }
    const sha256 = await sha256OnnxModel(path, dataFiles);
    const maxRows = options.maxRowsPerRun ?? (provider === 'cpu' ? CPU_ROWS_PER_RUN : Infinity);
    if (!(maxRows >= 1)) throw new RangeError(`maxRowsPerRun must be at least 1, got ${maxRows}`);
    return new OnnxExtractor(session, path, sha256, inputName, { channels, height, width }, [...wanted], provider, Math.floor(maxRows));
  }

  /** the same session returning only `outputs` (one model load and hash; dispose either, not both). */
  select(outputs: readonly string[]): OnnxExtractor {
    for (const name of outputs) {
      if (!this.session.outputNames.includes(name)) {
        throw new BadInputError('EXTRACTOR_NO_OUTPUT', `${this.path} has no output named "${name}"`, `its outputs: ${this.session.outputNames.join(', ')}`);
      }
    }
    return new OnnxExtractor(this.session, this.path, this.sha256, this.inputName, this.input, [...outputs], this.provider, this.maxRowsPerRun);
  }

  /** values per image of one input */
  get inputSize(): number {
    return this.input.channels * this.input.height * this.input.width;
  }

  /** feature length of each output as the model declares it (undefined when symbolic) */
  declaredDims(name: string): number | undefined {
    const i = this.session.outputNames.indexOf(name);
    const shape = tensorShape(this.session.outputMetadata[i]);
    if (!shape || shape.length < 2) return undefined;
    let n = 1;
    for (const v of shape.slice(1)) {
      const d = fixed(v);
      if (d === undefined) return undefined;
      n *= d;
    }
    return n;
  }

  /**
   * runs `rows` images (rows x C x H x W float32, already preprocessed); returns each chosen output flattened per row.
   * More than maxRowsPerRun rows go through onnxruntime slice by slice (views of `batch`, no copy).
   */
  async run(batch: Float32Array, rows: number): Promise<Record<string, Float32Array>> {
    if (batch.length !== rows * this.inputSize) {
      throw new RangeError(`batch holds ${batch.length} values, expected ${rows} x ${this.inputSize}`);
    }
    if (rows <= this.maxRowsPerRun) return this.runOnce(batch, rows);
    const parts: Array<Record<string, Float32Array>> = [];
    for (let r = 0; r < rows; r += this.maxRowsPerRun) {
      const n = Math.min(this.maxRowsPerRun, rows - r);
      parts.push(await this.runOnce(batch.subarray(r * this.inputSize, (r + n) * this.inputSize), n));
    }
    const out: Record<string, Float32Array> = {};
    for (const name of this.outputs) {
      const joined = new Float32Array(parts.reduce((s, p) => s + p[name]!.length, 0));
      let o = 0;
      for (const p of parts) {
        joined.set(p[name]!, o);
        o += p[name]!.length;
      }
      out[name] = joined;
    }
    return out;
  }

  private async runOnce(batch: Float32Array, rows: number): Promise<Record<string, Float32Array>> {
    const { channels, height, width } = this.input;
    const feeds = { [this.inputName]: new ort.Tensor('float32', batch, [rows, channels, height, width]) };
    const results = await this.session.run(feeds, [...this.outputs]);
    const out: Record<string, Float32Array> = {};
    for (const name of this.outputs) {
      const t = results[name];
      if (!t || !(t.data instanceof Float32Array)) throw new BadInputError('EXTRACTOR_BAD_OUTPUT', `${this.path}: output ${name} is not a float32 tensor`);
      if (t.dims[0] !== rows || t.data.length % rows !== 0) {
        throw new BadInputError('EXTRACTOR_BAD_OUTPUT', `${this.path}: output ${name} has shape [${t.dims.join(', ')}] for a batch of ${rows}`);
      }
      out[name] = t.data;
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
