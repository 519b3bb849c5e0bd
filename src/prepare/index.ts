// public surface of dataset preparation: COCO-2014 val validated and turned into caption subsets, reference image
// sets and reference statistics (layer 2: it joins data/ and metrics/)
export { prepareCoco2014, DEFAULT_BLOCK_SIZE, type PrepareOptions, type PrepareProgress, type PrepareResult } from './coco-prepare.js';
export { validateCoco, listImageFolder, OFFICIAL_VAL2014, type CocoValidation } from './coco-validate.js';
export { writeCaptionSubsets, parseListOption, PUBLISHED_LIST_FILES, type CaptionSubsetRecord, type ListProtocol } from './caption-subsets.js';
export { RESIZE_PROTOCOLS, RESIZE_PROTOCOL_NAMES, isResizeProtocol, applyResizeProtocol, type ResizeProtocolName } from './resize-protocols.js';
export { REFERENCE_FID_MODES, type ReferenceFidMode } from './reference-blocks.js';
export { parseShard, type Shard } from './shards.js';
export { findPreparedStatistics, preparedDatasetName, referenceFields, PREPARED_KIND, type PreparedManifest, type ReferenceFields } from './prepare-manifest.js';
export { resizeImages, resizeProtocolOfSide } from './resize-folder.js';
