// which feature cache a measurement reads and fills.
import { defaultFeatureCacheDir } from '../extract/index.js';
import { FeatureCache } from '../feature-cache/index.js';

/** a folder; undefined: $VSDLAB_FEATURE_CACHE or ~/.cache/vsdlab/features; false: no cache */
export type FeatureCacheChoice = string | false | undefined;

export function openFeatureCache(choice: FeatureCacheChoice): FeatureCache | undefined {
  if (choice === false) return undefined;
  return new FeatureCache(choice ?? defaultFeatureCacheDir());
}
