// One way to open an onnxruntime session: the execution provider chosen once (execution-provider.ts), the thread count,
// and a load failure turned into the caller's own typed error (each caller names what the model was for).
import * as ort from 'onnxruntime-node';
import type { VsdlabError } from '../errors.js';
import { chooseExecutionProvider, type ExecutionProvider } from './execution-provider.js';

export interface OnnxSessionOptions {
  provider?: ExecutionProvider | 'auto';
  threads?: number;
  /** all graph optimizations (the extractors and SD networks ask for them; CLIP's text tower runs with the defaults) */
  optimize?: boolean;
  /**
   * onnxruntime's memory pattern (default on): plans one block for all intermediate tensors of a batch shape and
   * keeps it; the feature extractors turn it off (for the FID Inception at 48 rows it held 0.5 GB more and gained no speed)
   */
  memPattern?: boolean;
}

export async function openOnnxSession(path: string, options: OnnxSessionOptions, unreadable: (reason: string) => VsdlabError): Promise<{ session: ort.InferenceSession; provider: ExecutionProvider }> {
  const provider = chooseExecutionProvider(options.provider);
  const sessionOptions: ort.InferenceSession.SessionOptions = { executionProviders: [provider] };
  if (options.optimize === true) sessionOptions.graphOptimizationLevel = 'all';
  if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
  if (options.memPattern !== undefined) sessionOptions.enableMemPattern = options.memPattern;
  try {
    return { session: await ort.InferenceSession.create(path, sessionOptions), provider };
  } catch (err) {
    throw unreadable((err as Error).message.split('\n')[0] ?? '');
  }
}
