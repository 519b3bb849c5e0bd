// One network of an ONNX pipeline folder as an onnxruntime session whose input and output names were checked
// against the exporter's (a graph with other names is a different export and would be fed wrongly).
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { BadInputError } from '../../../errors.js';
import type { ExecutionProvider } from '../../../onnx/execution-provider.js';
import { openOnnxSession } from '../../../onnx/session.js';

/** the names a component's graph must have (in any order; extra outputs are ignored) */
export interface OnnxIo {
  inputs: readonly string[];
  outputs: readonly string[];
}

export interface OnnxSessionOptions {
  provider?: ExecutionProvider | 'auto';
  /** intra-op threads (default: onnxruntime's choice) */
  threads?: number;
}

/** the declared element type and rank of an input */
export interface InputDecl {
  type: ort.Tensor.Type;
  rank: number;
}

const HINT_EXPORT = 'export the diffusers folder with Optimum (`optimum-cli export onnx --task stable-diffusion`) or tools/sd/export_onnx.py';

const describeIo = (io: OnnxIo): string => `inputs ${io.inputs.join(', ')} → outputs ${io.outputs.join(', ')}`;

export class OnnxComponent {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly provider: ExecutionProvider,
    private readonly inputs: ReadonlyMap<string, InputDecl>,
  ) {}

  /** opens `path` and checks that its graph has `io`'s names; one BadInputError line naming the file otherwise */
  static async open(path: string, io: OnnxIo, options: OnnxSessionOptions = {}): Promise<OnnxComponent> {
    if (!existsSync(path)) throw new BadInputError('SD_ONNX_MISSING', `${path}: no such file; an ONNX Stable Diffusion folder has it, with ${describeIo(io)}`, HINT_EXPORT);
    const { session, provider } = await openOnnxSession(
      path,
      { optimize: true, ...(options.provider ? { provider: options.provider } : {}), ...(options.threads !== undefined ? { threads: options.threads } : {}) },
      (reason) => new BadInputError('SD_ONNX_UNREADABLE', `${path}: cannot load the ONNX model: ${reason}`, HINT_EXPORT),
    );
    const missingIn = io.inputs.filter((n) => !session.inputNames.includes(n));
    const extraIn = session.inputNames.filter((n) => !io.inputs.includes(n));
    const missingOut = io.outputs.filter((n) => !session.outputNames.includes(n));
    if (missingIn.length > 0 || extraIn.length > 0 || missingOut.length > 0) {
      await session.release();
      throw new BadInputError(
        'SD_ONNX_IO',
        `${path}: inputs ${session.inputNames.join(', ')} → outputs ${session.outputNames.join(', ')}; expected ${describeIo(io)} (Optimum's export)`,
        HINT_EXPORT,
      );
    }
    const inputs = new Map<string, InputDecl>();
    session.inputNames.forEach((name, i) => {
      const m = session.inputMetadata[i];
      if (m?.isTensor) inputs.set(name, { type: m.type, rank: m.shape.length });
    });
    return new OnnxComponent(session, path, provider, inputs);
  }

  /** the declared type and rank of input `name` */
  input(name: string): InputDecl {
    const d = this.inputs.get(name);
    if (d === undefined) throw new BadInputError('SD_ONNX_IO', `${this.path}: input ${name} is not a tensor`);
    return d;
  }

  /** runs the graph; returns the float32 data of each named output with its shape */
  async run(feeds: Record<string, ort.Tensor>, outputs: readonly string[]): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
    const results = await this.session.run(feeds, [...outputs]);
    const out: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (const name of outputs) {
      const t = results[name];
      if (!t || !(t.data instanceof Float32Array)) throw new BadInputError('SD_ONNX_OUTPUT', `${this.path}: output ${name} is not float32 (${t?.type ?? 'absent'}); export the model in float32`);
      out[name] = { data: t.data, dims: [...t.dims] };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
