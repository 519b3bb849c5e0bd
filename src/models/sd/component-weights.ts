// A pipeline component's weights as the architectures read them: its safetensors (one file or shards, any float
// dtype, computed in float32) through a lazy view, each tensor read when a layer first asks for it.
import { toTensor } from '../../weights/safetensors.js';
import type { WeightView } from '../../weights/weight-view.js';
import { TorchLayoutWeights } from '../../nn/torch-layout.js';
import { openComponentWeights, type ModelComponent } from './pipeline-folder.js';

// transformers keeps CLIP's position ids as a buffer in the state dict; no layer reads it
export const TEXT_ENCODER_BUFFERS = ['text_model.embeddings.position_ids'];

/** the component's weights (torch names under `prefix`, e.g. `text_model.` for CLIPTextModel), and the view to close */
export function componentWeights(component: ModelComponent<unknown>, prefix = ''): { weights: TorchLayoutWeights; view: WeightView } {
  const view = openComponentWeights(component);
  const weights = new TorchLayoutWeights((name) => (view.info(name) === undefined ? undefined : toTensor(view.read(name))), component.weights.path, prefix);
  return { weights, view };
}
