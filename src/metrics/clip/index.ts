// CLIP score: onnx image and text towers, a tokenizer.json, and the named score conventions.
export { CLIP_CONTEXT_LENGTH, ClipTokenizer, cleanCaption } from './clip-tokenizer.js';
export { CLIP_CONVENTIONS, CLIP_CONVENTION_TABLE, clipConvention, rowCosines, type ClipConvention, type ClipConventionName } from './clip-score.js';
export { TextTower } from './text-tower.js';
export { captionPairs, naturalCompare, type CaptionPairs } from './caption-pairs.js';
export { ClipModel, clipModelFiles, clipScore, type ClipModelFiles, type ClipScoreOptions, type ClipScoreResult } from './clip-evaluate.js';
