// the metrics surface: images in (decode, resize, preprocess), onnx extractors, feature cache, statistics and
// distances (FID, KID, precision/recall, IS), CLIP score; evaluation: all of it from paths, as commands and stages ask.
export * as image from './image/index.js';
export * as stats from './stats/index.js';
export * as extract from './extract/index.js';
export * as featureCache from './feature-cache/index.js';
export * as clip from './clip/index.js';
export * as evaluation from './evaluation/index.js';
export { imageSetFeatures, imageSetStatistics, OnnxExtractor, FID_MODES, type FidMode } from './extract/index.js';
export { FeatureCache } from './feature-cache/index.js';
export { frechetDistance, kernelInceptionDistance, readStatsNpz, writeStatsNpz } from './stats/index.js';
