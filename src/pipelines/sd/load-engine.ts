// Opening a Stable Diffusion folder with the engine an experiment or the command line chose ('auto': ONNX Runtime
// for Optimum's ONNX layout, tfjs for a diffusers folder). The generate stage can call this with its
// `generate.engine` setting.
import type { ClipTextCleaning } from '../../models/sd/clip-bpe-tokenizer.js';
import { isOnnxPipelineFolder } from '../../models/sd/onnx/onnx-pipeline-folder.js';
import type { SdEngine } from './engine.js';
import type { OnnxDevice, SdEngineChoice, SdEngineName } from './engine-names.js';
import { loadSdPipeline } from './load-pipeline.js';
import { loadOnnxSdEngine } from './onnx-engine.js';
import { tfjsSdEngine } from './tfjs-engine.js';

export interface LoadEngineOptions {
  engine?: SdEngineChoice;
  /** onnx: the execution provider ('auto': CUDA when the CUDA build of onnxruntime-node is installed) */
  device?: OnnxDevice;
  /** onnx: intra-op threads */
  threads?: number;
  /** tfjs: a weights variant (e.g. fp16), read where a component has it */
  variant?: string;
  tokenizerCleaning?: ClipTextCleaning;
}

/** the engine `choice` means for the folder `dir` */
export const resolveSdEngine = (dir: string, choice: SdEngineChoice = 'auto'): SdEngineName => (choice !== 'auto' ? choice : isOnnxPipelineFolder(dir) ? 'onnx' : 'tfjs');

export async function loadSdEngine(dir: string, options: LoadEngineOptions = {}): Promise<SdEngine> {
  const cleaning = options.tokenizerCleaning === undefined ? {} : { tokenizerCleaning: options.tokenizerCleaning };
  if (resolveSdEngine(dir, options.engine) === 'onnx') {
    return loadOnnxSdEngine(dir, { ...cleaning, provider: options.device ?? 'auto', ...(options.threads !== undefined ? { threads: options.threads } : {}) });
  }
  return tfjsSdEngine(loadSdPipeline(dir, { ...cleaning, ...(options.variant === undefined ? {} : { variant: options.variant }) }));
}
