// What the fid and kid commands share: the extractor options, and their progress and skipped images.
// named module by module: the fid command of two .npz files loads neither sharp nor onnxruntime
import { defaultInceptionPath } from '../metrics/extract/defaults.js';
import { FID_MODES, type FidMode } from '../metrics/extract/fid-modes.js';
import type { ImageSetSummary } from '../metrics/extract/image-set.js';
import type { ImageSetsOptions } from '../metrics/evaluation/image-sets.js';
import { progressCallback, type ProgressChoice, type ProgressSink } from '../exec/progress.js';
import { jsonOption, progressOption } from './json-option.js';
import type { Io } from './io.js';

export const extractorOptions = {
  mode: { choices: FID_MODES, default: 'clean' as FidMode, description: 'preprocessing of the reference: clean-fid clean, pytorch-fid, TF1/TTUR, torchmetrics>=1.8' },
  inception: { type: 'string', description: 'FID Inception ONNX model (tools/export_inception.py); default $VSDLAB_INCEPTION or models/fid-inception.onnx' },
  'batch-size': { type: 'number', default: 50, description: 'images decoded and cached together (on the CPU, the network runs them 16 at a time: memory stays flat)' },
  'skip-bad': { type: 'boolean', default: false, description: 'leave out (and count) images that cannot be decoded instead of stopping' },
  cache: { type: 'string', description: 'feature cache folder (default $VSDLAB_FEATURE_CACHE or ~/.cache/vsdlab/features); --no-cache to disable' },
  threads: { type: 'number', description: 'onnxruntime intra-op threads' },
  device: { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as const, description: 'execution provider; auto picks cuda when onnxruntime-node has it' },
  json: jsonOption,
  progress: progressOption,
} as const;

/** how an ONNX model is run over images: every metric command takes these */
export interface RuntimeArgs {
  'batch-size': number;
  'skip-bad': boolean;
  cache?: string | false;
  threads?: number;
  device: 'auto' | 'cpu' | 'cuda';
  json: boolean;
  progress: ProgressChoice;
}

export interface ExtractorArgs extends RuntimeArgs {
  mode: FidMode;
  inception?: string;
}

/** the measurement the extractor options ask for, with each folder's progress and skipped images on `progress` */
export const imageSetsOptions = (args: ExtractorArgs, progress: ProgressSink, signal: AbortSignal | undefined): ImageSetsOptions => ({
  extractor: { path: args.inception ?? defaultInceptionPath(), provider: args.device, threads: args.threads },
  mode: args.mode,
  batchSize: args['batch-size'],
  skipBad: args['skip-bad'],
  cache: args.cache,
  ...(signal ? { signal } : {}),
  progress: (folder) => progressCallback(progress, 'features', folder, 'images'),
  onImageSet: (summary) => reportSkipped(progress, summary),
});

export function reportSkipped(progress: ProgressSink, summary: ImageSetSummary): void {
  if (summary.skipped.length === 0) return;
  progress.note(`skipped ${summary.skipped.length} unreadable image(s) in ${summary.folder}:`);
  for (const s of summary.skipped.slice(0, 20)) progress.note(`  ${s.reason}`);
  if (summary.skipped.length > 20) progress.note(`  ... and ${summary.skipped.length - 20} more`);
}
