import type { LoraConfig } from '../../nn/lora.js';
import type { ExecutionProvider } from '../../onnx/execution-provider.js';
import { onnxUNetEngine } from './onnx-unet-engine.js';
import type { UNet } from './unet.js';
import type { UNetEngineName } from './engine-names.js';
import { tfjsUNetEngine, type UNetEngine } from './unet-engine.js';

export interface UNetEngineOptions {
  /** the adapter shape an ONNX engine takes LoRA weights for (the tfjs forward takes any adapter) */
  lora?: LoraConfig | undefined;
  provider?: ExecutionProvider | 'auto';
}

/** the UNet's weights as they are now behind the named engine (an ONNX engine snapshots them) */
export const openUNetEngine = (net: UNet, name: UNetEngineName, options: UNetEngineOptions = {}): UNetEngine =>
  name === 'onnx' ? onnxUNetEngine(net, { lora: options.lora, ...(options.provider ? { provider: options.provider } : {}) }) : tfjsUNetEngine(net);
