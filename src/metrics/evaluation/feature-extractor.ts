// the feature network of FID / KID / precision-recall: an onnx model narrowed to its feature output.
import { BadInputError } from '../../errors.js';
import { featureOutputOf, OnnxExtractor, type InputGeometry } from '../extract/index.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';

/** which model to load, and where to run it */
export interface ExtractorChoice {
  path: string;
  /** default: auto (cuda when onnxruntime-node has it) */
  provider?: ExecutionProvider | 'auto';
  /** onnxruntime intra-op threads; 0 or absent: onnxruntime's choice */
  threads?: number;
}

/** what a result records of the extractor that made it */
export interface ExtractorInfo {
  path: string;
  /** sha256 of the model file */
  sha256: string;
  provider: ExecutionProvider;
  input: InputGeometry;
}

export const extractorInfo = (e: OnnxExtractor): ExtractorInfo => ({ path: e.path, sha256: e.sha256, provider: e.provider, input: e.input });

/** the model returning only its feature output (pool3, pool, or its only output) */
export async function loadFeatureExtractor(choice: ExtractorChoice): Promise<OnnxExtractor> {
  const all = await OnnxExtractor.load(choice.path, { ...(choice.provider ? { provider: choice.provider } : {}), ...(choice.threads ? { threads: choice.threads } : {}) });
  try {
    return featureOutputView(all);
  } catch (err) {
    await all.dispose();
    throw err;
  }
}

/** the same session narrowed to its feature output */
export function featureOutputView(all: OnnxExtractor): OnnxExtractor {
  const output = featureOutputOf(all.outputs);
  if (output === undefined) throw new BadInputError('EXTRACTOR_NO_OUTPUT', `${all.path} has no feature output (pool3 or pool)`, `its outputs: ${all.outputs.join(', ')}`);
  return all.select([output]);
}
