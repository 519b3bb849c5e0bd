// where the metric commands look for models and keep cached features unless told otherwise.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $VSDLAB_INCEPTION, else models/fid-inception.onnx (tools/export_inception.py writes it). */
export const defaultInceptionPath = (): string => process.env.VSDLAB_INCEPTION ?? join('models', 'fid-inception.onnx');

/** $VSDLAB_FEATURE_CACHE, else $XDG_CACHE_HOME/vsdlab/features (~/.cache/vsdlab/features). */
export const defaultFeatureCacheDir = (): string =>
  process.env.VSDLAB_FEATURE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vsdlab', 'features');
