import type { Argv } from 'yargs';
import { CLIP_CONVENTIONS, captionPairs, clipModelFiles, type ClipConventionName } from '../../metrics/clip/index.js';
import { clipScoreOfFiles } from '../../metrics/evaluation/index.js';
import { defaultClipDir } from '../../metrics/extract/index.js';
import { jsonOption } from '../options.js';
import type { Io } from '../io.js';
import type { RuntimeArgs } from '../metric-options.js';

export const command = 'clip-score <images> <captions>';
export const describe = 'CLIP score of generated images against their captions (GigaGAN/SwiftBrush cosine-mean or torchmetrics)';

export const builder = (y: Argv) =>
  y
    .positional('images', { type: 'string', demandOption: true, description: 'image folder' })
    .positional('captions', { type: 'string', demandOption: true, description: 'captions.txt (one line per image, natural file order) or dataset.json {"labels": [[path, caption]]}' })
    .option('convention', { choices: CLIP_CONVENTIONS, default: 'cosine-mean' as ClipConventionName, description: 'cosine-mean: mean cosine, "A photo depicts " prefix; torchmetrics: max(100 * mean cosine, 0)' })
    .option('clip', { type: 'string', description: 'folder with image.onnx, text.onnx, tokenizer.json (tools/export_clip.py); default $VSDLAB_CLIP or models/clip-vit-g-14' })
    .option('batch-size', { type: 'number', default: 32 })
    .option('skip-bad', { type: 'boolean', default: false, description: 'leave out (and count) images that cannot be decoded' })
    .option('cache', { type: 'string', description: 'feature cache folder; --no-cache to disable' })
    .option('threads', { type: 'number', description: 'onnxruntime intra-op threads' })
    .option('device', { choices: ['auto', 'cpu', 'cuda'] as const, default: 'auto' as const })
    .option('json', jsonOption);

interface ClipArgs extends RuntimeArgs {
  images: string;
  captions: string;
  convention: ClipConventionName;
  clip?: string;
}

export async function handler(args: ClipArgs, io: Io, signal?: AbortSignal): Promise<number> {
  const pairs = captionPairs(args.images, args.captions);
  const { result: r, models } = await clipScoreOfFiles(clipModelFiles(args.clip ?? defaultClipDir()), pairs.images, pairs.captions, {
    convention: args.convention,
    batchSize: args['batch-size'],
    skipBad: args['skip-bad'],
    cache: args.cache,
    provider: args.device,
    threads: args.threads,
    ...(signal ? { signal } : {}),
  });
  if (r.skipped.length > 0) {
    io.err(`skipped ${r.skipped.length} unreadable image(s):`);
    for (const s of r.skipped.slice(0, 20)) io.err(`  ${s.reason}`);
  }
  if (args.json) {
    const { clipModelName } = await import('../../metrics/protocol/evaluation-protocol.js');
    const { CLIP_CONVENTION_TABLE } = await import('../../metrics/clip/index.js');
    // the fields an evaluate-stage clip-score record carries (src/metrics/protocol/evaluation-protocol.ts)
    const protocol = { n_samples: r.pairs, generated_resize: 'none', convention: r.convention, prefix: CLIP_CONVENTION_TABLE[args.convention].prefix, model: clipModelName(models.image.path, models.image.sha256, models.text.sha256), model_sha256: `${models.image.sha256}+${models.text.sha256}` };
    io.out(
      JSON.stringify(
        {
          clip_score: r.score,
          convention: r.convention,
          pairs: r.pairs,
          skipped: r.skipped.length,
          skipped_files: r.skipped,
          cache_hits: r.cacheHits,
          models,
          protocol,
        },
        null,
        2,
      ),
    );
  } else {
    io.out(`CLIP score (${r.convention}):  ${r.score}  (${r.pairs} pairs)`);
  }
  return 0;
}
