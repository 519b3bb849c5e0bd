// public surface of the data concern: the synthetic world, COCO-2014 captions and caption protocols
export { Xoshiro128ss, deriveRunSeed, deriveSeed, splitmix64, type Seed } from './random.js';
export { RUN_STREAM, TEACHER_STREAM, PREVIEW_SEED, loraUpdateStream, runStream, runTfjsSeed, tfjsSeed, type LoraDraw } from './streams.js';
export {
  COLOURS,
  SHAPES,
  POSITIONS,
  PAIR_LAYOUTS,
  COLOUR_RGB,
  attributesKey,
  canonicalObjects,
  type Colour,
  type Shape,
  type Position,
  type SceneObject,
  type SceneAttributes,
  type Scene,
  type DrawnObject,
} from './synthetic-world.js';
export { renderScene } from './synthetic-render.js';
export { sampleScene } from './synthetic-scene.js';
export { generateCaptions } from './caption-generate.js';
export { parseCaption, tryParseCaption, type ParseResult } from './caption-parse.js';
export { captionWords, grammarWords } from './caption-grammar.js';
export {
  tokenize,
  tokenizeBatch,
  detokenize,
  captionVocabulary,
  PAD_ID,
  BOS_ID,
  EOS_ID,
  UNK_ID,
  type Vocabulary,
} from './tokenizer.js';
export {
  generateSyntheticSet,
  generateSyntheticImage,
  toCocoCaptionFile,
  toAttributesFile,
  stackPixels,
  imageFileName,
  SyntheticSetOptionsSchema,
  SYNTHETIC_GENERATOR,
  SPLITS,
  type SyntheticSet,
  type SyntheticSplit,
  type SyntheticImage,
  type SyntheticSetOptions,
  type ResolvedSyntheticSetOptions,
  type SyntheticSetFingerprint,
  type SplitName,
  type AttributesFile,
} from './synthetic-set.js';
export { writeSyntheticSet, type WriteOptions, type SyntheticDatasetManifest } from './synthetic-write.js';
export { readSyntheticRecipe, buildSyntheticDataset, SyntheticRecipeSchema, type SyntheticRecipe } from './synthetic-recipe.js';
export { loadSyntheticAttributes, AttributesFileSchema } from './attributes-load.js';
export { verifyDatasetManifest, type DatasetManifest, type ManifestCheck } from './dataset-manifest.js';
export { CocoCaptionFileSchema, type CocoCaptionFile, type CocoCaptions, type CocoImage, type CocoCaptionAnnotation } from './coco-format.js';
export { loadCocoCaptions, cocoCaptionsFromJson } from './coco-load.js';
export { readCaptionList, parseCaptionList, KNOWN_CAPTION_LISTS, type CaptionList } from './caption-list.js';
export {
  selectCaptions,
  captionFingerprint,
  captionTextFingerprint,
  CAPTION_PROTOCOLS,
  type CaptionProtocol,
  type CaptionSelection,
  type SelectedCaption,
  type SelectOptions,
} from './caption-protocols.js';
