// The engines the embedded UNet's sampling-only passes run on, without loading tfjs or onnxruntime (the
// experiment schema names them).
export const UNET_ENGINES = ['tfjs', 'onnx'] as const;
export type UNetEngineName = (typeof UNET_ENGINES)[number];
