// metrics from paths: load the extractor, open the feature cache, read each image set or .npz, score; what the
// metric commands and the evaluate stage share.
export { loadFeatureExtractor, featureOutputView, extractorInfo, type ExtractorChoice, type ExtractorInfo } from './feature-extractor.js';
export { openFeatureCache, type FeatureCacheChoice } from './feature-cache-choice.js';
export { statisticsOfSets, featuresOfSets, type ImageSetsOptions, type StatisticsOptions, type SetStatistics, type SetFeatures } from './image-sets.js';
export { clipScoreOfFiles, type ClipScoreFilesOptions, type ClipModelsInfo } from './clip-score-files.js';
export { kernelInceptionDistanceOnce, type KidOnceOptions, type KidReferenceMemo } from './kid-once.js';
export { kidReferenceFiles, type KidReferenceFiles } from './kid-reference-files.js';
export { shardSpecSchema, writeShardSpec, readShardSpec, runShard, missingShards, mergeAndScore, specPath, resultPath, type ShardSpec, type ShardedResult } from './sharded-evaluation.js';
