// feature statistics and distances: streaming mean/covariance, fréchet distance, KID, precision/recall, IS,
// and pytorch-fid / clean-fid .npz statistics files.
export { featureMatrix, type FeatureMatrix } from './feature-matrix.js';
export {
  FeatureAccumulator,
  featureStats,
  type AccumulatorSnapshot,
  type FeatureStats,
  type FinalizeOptions,
} from './feature-accumulator.js';
export {
  frechetDistance,
  traceSqrtProduct,
  type FrechetBackendChoice,
  type FrechetOptions,
  type FrechetResult,
  type GaussianStats,
  type TraceSqrtResult,
} from './frechet-distance.js';
export { frechetBackend, type FrechetBackendInfo, type FrechetBackendName } from './native-lapack.js';
export { kernelInceptionDistance, polynomialMmd2, type KidOptions, type KidResult } from './kernel-inception-distance.js';
export { precisionRecall, kthNeighbourRadii, type PrecisionRecallOptions, type PrecisionRecallResult } from './precision-recall.js';
export { inceptionScore, type InceptionScoreOptions, type InceptionScoreResult } from './inception-score.js';
export { NumpyRandomState } from './numpy-random-state.js';
export { symmetricEigenvalues } from './symmetric-eigenvalues.js';
export { decodeNpy, encodeNpy, type NpyArray, type NpyDtype } from './npy-format.js';
export {
  decodeNpz,
  encodeNpz,
  decodeStatsNpz,
  encodeStatsNpz,
  readStatsNpz,
  writeStatsNpz,
  encodeSnapshotNpz,
  decodeSnapshotNpz,
  type NpzMember,
} from './npz-stats.js';
