// onnx feature extractors (onnxruntime-node) and image folders streamed through them.
export { defaultClipDir, defaultFeatureCacheDir, defaultInceptionPath } from './defaults.js';

export { featureOutputOf } from './feature-output.js';
export { CPU_ROWS_PER_RUN, OnnxExtractor, type ExtractorOptions, type InputGeometry } from './onnx-extractor.js';
export { onnxCompanionFiles, onnxExternalDataFiles, onnxExternalDataRefs, onnxModelDigest, sha256OnnxModel, type ExternalDataRef } from './onnx-external-data.js';
export { listImages, type ListingRule } from './image-list.js';
export {
  streamFeatures,
  type FeatureBatch,
  type FeatureExtractor,
  type FeatureStreamOptions,
  type FeatureStreamResult,
  type SkippedImage,
} from './feature-stream.js';
export {
  FID_MODES,
  MODE_CONVENTIONS,
  imageSetFeatures,
  imageSetStatistics,
  isFidMode,
  type FidMode,
  type ImageSetOptions,
  type ImageSetSummary,
  type ModeConvention,
} from './image-set.js';
