// where the metric commands look for models and keep cached features unless told otherwise.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $VSDLAB_INCEPTION, else models/fid-inception.onnx (tools/export_inception.py writes it). */
export const defaultInceptionPath = (): string => process.env.VSDLAB_INCEPTION ?? join('models', 'fid-inception.onnx');

/** $VSDLAB_CLIP, else models/clip-vit-g-14 (tools/export_clip.py writes image.onnx, text.onnx, tokenizer.json there). */
export const defaultClipDir = (): string => process.env.VSDLAB_CLIP ?? join('models', 'clip-vit-g-14');

/** $VSDLAB_FEATURE_CACHE, else $XDG_CACHE_HOME/vsdlab/features (~/.cache/vsdlab/features). */
export const defaultFeatureCacheDir = (): string =>
  process.env.VSDLAB_FEATURE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vsdlab', 'features');
