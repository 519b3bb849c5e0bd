// per-image feature cache (content hash x extractor hash x mode x output), written atomically.
export { FeatureCache, type FeatureCacheKey } from './feature-cache.js';
