// An onnxruntime session whose run returns at once, for callers that cannot await: the teacher passes of a
// distillation step run inside a tfjs custom-gradient forward, which is synchronous. onnxruntime-node's public
// InferenceSession.run only defers its native binding's synchronous run to setImmediate; this opens that binding
// (typed and exported by the package as dist/binding) directly, so no worker thread or data copy is needed.
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { VsdlabError } from '../errors.js';
import { chooseExecutionProvider, type ExecutionProvider } from './execution-provider.js';

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: ort.InferenceSession.SessionOptions): void;
  readonly inputMetadata: ReadonlyArray<{ name: string }>;
  readonly outputMetadata: ReadonlyArray<{ name: string }>;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>, options: ort.InferenceSession.RunOptions): Record<string, ort.Tensor>;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

let native: NativeBinding | undefined;
const nativeBinding = (): NativeBinding => {
  native ??= createRequire(import.meta.url)('onnxruntime-node/dist/binding') as NativeBinding;
  if (typeof native.binding?.InferenceSession !== 'function' || typeof native.initOrt !== 'function') {
    throw new Error('onnxruntime-node no longer exports its native binding as dist/binding; the synchronous ONNX session needs it');
  }
  return native;
};

export interface SyncOnnxSessionOptions {
  provider?: ExecutionProvider | 'auto';
  /** intra-op threads; a pool worker owns one core, so 1 unless told */
  threads?: number;
}

export interface SyncOnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly provider: ExecutionProvider;
  /** every output for the feeds (one tensor per input name), computed before it returns */
  run(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor>;
  dispose(): void;
}

/**
 * Opens a model held in memory. All graph optimisations, sequential execution, one inter-op thread, no memory
 * pattern: the same
 * inputs give the same bits on every run (ORT's CPU kernels are deterministic at a fixed thread count).
 */
export function openSyncOnnxSession(model: Uint8Array, options: SyncOnnxSessionOptions, unreadable: (reason: string) => VsdlabError): SyncOnnxSession {
  const provider = chooseExecutionProvider(options.provider);
  const { binding, initOrt } = nativeBinding();
  initOrt();
  const session = new binding.InferenceSession();
  try {
    session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      // the memory pattern pre-plans a block per input shape: more resident memory for no speed on these graphs
      // (the embedded UNet's graph at B = 100: 125 vs 82 MB of RSS at the same CPU time); the study's workers share a 1.5 GB budget
      enableMemPattern: false,
    });
  } catch (err) {
    throw unreadable((err as Error).message.split('\n')[0] ?? '');
  }
  const inputNames = session.inputMetadata.map((m) => m.name);
  const outputNames = session.outputMetadata.map((m) => m.name);
  const fetches = Object.fromEntries(outputNames.map((n) => [n, null]));
  let open = true;
  return {
    inputNames,
    outputNames,
    provider,
    run(feeds) {
      if (!open) throw new Error('run on a disposed ONNX session');
      for (const name of inputNames) if (feeds[name] === undefined) throw new Error(`ONNX session: input '${name}' is missing`);
      return session.run(feeds, fetches, {});
    },
    dispose() {
      if (open) session.dispose();
      open = false;
    },
  };
}
