// one shard of a cell's generation, as a process of its own (`vsdlab shards generate-worker DIR --shard i/n`)
import { BadInputError } from '../errors.js';
import { selectBackend } from '../tensor/backend.js';
import { generateImages } from './generate-stage.js';
import { generateShardRange, readGenerateRecord, readGenerateSpec, stageFolderOf, writeGenerateRecord, type GenerateShardRecord } from './generate-shards.js';

export interface GenerateShardOptions {
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** writes the images of shard `index` that are not on disk yet, then its record; nothing when the record is there */
export async function runGenerateShard(dir: string, index: number, shards: number, o: GenerateShardOptions): Promise<{ record: GenerateShardRecord; ran: boolean }> {
  const spec = readGenerateSpec(dir);
  if (shards !== spec.shards) throw new BadInputError('SHARDS_SPEC', `--shard ${index}/${shards}: ${dir}/spec.json cuts the images into ${spec.shards} shards`);
  const done = readGenerateRecord(dir, index, shards);
  if (done) return { record: done, ran: false };
  const range = generateShardRange(spec, index, shards);
  if (range.end > range.start) {
    await selectBackend(spec.config.distill.backend);
    await generateImages(spec.config, spec.student ?? undefined, stageFolderOf(dir), spec.captions, range, { signal: o.signal, progress: (d, t) => o.onProgress?.(d, t) });
  }
  return { record: await writeGenerateRecord(dir, index, shards, range), ran: true };
}
