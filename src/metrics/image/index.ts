// images in, for the metrics: decoding (Pillow convert('RGB') semantics), Pillow/torch/TF1 resizers and
// the per-reference network-input preprocessing. Everything but decodeImage is pure and synchronous.
export type { PillowFilter, PlanarImage, RgbImage } from './types.js';
export { PILLOW_FILTERS } from './types.js';
export { decodeImage } from './decode.js';
export { convertToRgb, type RawLayout, type RawPixels } from './convert-rgb.js';
export {
  precomputeCoeffs,
  resizePillow,
  resizePillowF32,
  resizePillowFloatChannels,
  resizePillowU8,
  type ResampleCoeffs,
} from './pillow-resample.js';
export { torchBilinear, torchBilinearAntialias } from './torch-interpolate.js';
export { tf1Bilinear } from './tf1-bilinear.js';
export { centerCrop, centerCropSquare, cropRgb, pythonRound, squareCropResize, type CropRounding } from './crop.js';
export {
  CLIP_MEAN,
  CLIP_STD,
  PREPROCESS_MODES,
  PREPROCESS_MODE_NAMES,
  clipResizeCrop,
  isPreprocessMode,
  preprocess,
  preprocessClean,
  preprocessClip,
  preprocessClipHf,
  preprocessLegacyPytorch,
  preprocessLegacyTensorflow,
  preprocessTorchmetrics,
  type PreprocessMode,
  type PreprocessModeName,
} from './preprocess.js';
