// the CLIP text tower as an onnx model: token ids (N x 77, int64 or int32 as the model declares) -> embeddings.
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { BadInputError, MissingAssetError } from '../../errors.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import { openOnnxSession } from '../../onnx/session.js';
import { onnxExternalDataFiles, sha256OnnxModel } from '../extract/index.js';

export class TextTower {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly sha256: string,
    private readonly inputName: string,
    private readonly inputType: 'int64' | 'int32',
    readonly contextLength: number,
    private readonly outputName: string,
  ) {}

  static async load(path: string, options: { provider?: ExecutionProvider | 'auto'; threads?: number } = {}): Promise<TextTower> {
    if (!existsSync(path)) throw new MissingAssetError('CLIP_MODEL_MISSING', `CLIP text model ${path} does not exist`, 'export one with tools/export_clip.py');
    const dataFiles = onnxExternalDataFiles(path);
    const { session } = await openOnnxSession(
      path,
      { ...(options.provider ? { provider: options.provider } : {}), ...(options.threads !== undefined ? { threads: options.threads } : {}) },
      (reason) => new BadInputError('CLIP_MODEL_UNREADABLE', `cannot load ONNX model ${path}: ${reason}`),
    );
    const meta = session.inputMetadata[0];
    if (session.inputNames.length !== 1 || !meta || !meta.isTensor || (meta.type !== 'int64' && meta.type !== 'int32') || meta.shape.length !== 2) {
      throw new BadInputError('CLIP_MODEL_BAD', `${path}: a CLIP text tower takes one N x L int64/int32 token tensor`);
    }
    const length = meta.shape[1];
    if (typeof length !== 'number' || length < 2) throw new BadInputError('CLIP_MODEL_BAD', `${path}: the token length must be fixed and at least 2 (start and end tokens), got ${String(length)}`);
    const outputName = session.outputNames.includes('text_embeds') ? 'text_embeds' : session.outputNames[0]!;
    return new TextTower(session, path, await sha256OnnxModel(path, dataFiles), session.inputNames[0]!, meta.type, length, outputName);
  }

  /** rows x contextLength ids -> rows x dims float32 embeddings */
  async embed(ids: Int32Array, rows: number): Promise<Float32Array> {
    if (ids.length !== rows * this.contextLength) throw new RangeError(`expected ${rows} x ${this.contextLength} token ids, got ${ids.length}`);
    const data = this.inputType === 'int64' ? BigInt64Array.from(ids, (v) => BigInt(v)) : ids;
    const feeds = { [this.inputName]: new ort.Tensor(this.inputType, data, [rows, this.contextLength]) };
    const out = (await this.session.run(feeds, [this.outputName]))[this.outputName];
    if (!out || !(out.data instanceof Float32Array) || out.dims[0] !== rows) {
      throw new BadInputError('CLIP_MODEL_BAD_OUTPUT', `${this.path}: output ${this.outputName} is not a ${rows} x D float32 tensor`);
    }
    return out.data;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
