// The engines `vsdlab sample` offers, without loading tfjs or onnxruntime (the command line lists them first).
export const SD_ENGINES = ['tfjs', 'onnx'] as const;
export type SdEngineName = (typeof SD_ENGINES)[number];
/** 'auto': onnx for a folder with unet/model.onnx (Optimum's layout), else tfjs */
export type SdEngineChoice = SdEngineName | 'auto';
export const SD_ENGINE_CHOICES: readonly SdEngineChoice[] = ['auto', ...SD_ENGINES];
export const ONNX_DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type OnnxDevice = (typeof ONNX_DEVICES)[number];
