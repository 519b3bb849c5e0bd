/**
 * Opens a checkpoint by its path: a `*.json` index as a sharded checkpoint, anything else as one safetensors file.
 */
import { openSafetensors } from './safetensors-file.js';
import { openSafetensorsIndex } from './safetensors-index.js';
import type { WeightView } from './weight-view.js';

export const openWeights = (path: string): WeightView => (path.endsWith('.json') ? openSafetensorsIndex(path) : openSafetensors(path));
