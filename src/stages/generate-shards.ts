// a cell's generation in shards: runs of whole batches, each a process (a pool worker or a Slurm array task) that
// writes its images by index into the stage's one images/ folder and, when all are written, a record of their
// sha256. The stage is complete when every shard's record is there and every image still has the recorded bytes.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { cellSchema, type CellConfig } from '../config/schema.js';
import { BadInputError, FailureError } from '../errors.js';
import { shardBatches, type ShardRange } from '../metrics/shards/index.js';
import type { StageContext } from '../tracking/stage.js';
import { writeJsonAtomically } from '../util/atomic-write.js';
import { sha256File } from '../util/hash.js';
import { runStageShards } from './run-shards.js';

/** what every generation shard reads: written by the stage into `<work>/shards/spec.json` before any shard starts */
export interface GenerateShardSpec {
  config: CellConfig;
  /** the distilled student's folder, or null for the teacher */
  student: string | null;
  /** the captions of the evaluation protocol, image i for caption i */
  captions: string[];
  shards: number;
}

const specFile = z.object({ config: z.unknown(), student: z.string().nullable(), captions: z.array(z.string()), shards: z.number().int().positive() });

const recordSchema = z.object({
  index: z.number().int().nonnegative(),
  shards: z.number().int().positive(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  /** every image of the range, relative to the stage folder, with its sha256 */
  images: z.array(z.object({ file: z.string(), sha256: z.string() })),
});
export type GenerateShardRecord = z.infer<typeof recordSchema>;

const pad = (i: number): string => String(i).padStart(5, '0');
export const generateSpecPath = (dir: string): string => join(dir, 'spec.json');
export const generateRecordPath = (dir: string, index: number, shards: number): string => join(dir, `generated-${pad(index)}-of-${pad(shards)}.json`);
/** the stage folder a shard folder belongs to: images go to its images/ */
export const stageFolderOf = (shardDir: string): string => join(shardDir, '..');

export const imageFile = (index: number): string => join('images', `${String(index).padStart(6, '0')}.png`);

/** the images shard `index` writes: whole batches of `generate.batch_size` */
export const generateShardRange = (spec: Pick<GenerateShardSpec, 'config' | 'captions'>, index: number, shards: number): ShardRange =>
  shardBatches(spec.captions.length, spec.config.generate.batch_size, shards, index);

export function readGenerateSpec(dir: string): GenerateShardSpec {
  const path = generateSpecPath(dir);
  if (!existsSync(path)) throw new BadInputError('SHARDS_NO_SPEC', `${path} does not exist`, 'generation shards are started by `vsdlab run` with generate.shards > 1, which writes it');
  const parsed = specFile.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  const config = parsed.success ? cellSchema.safeParse(parsed.data.config) : undefined;
  if (!parsed.success || !config?.success) throw new BadInputError('SHARDS_SPEC_BAD', `${path}: not a generation shard spec`, 'delete the shards folder and rerun `vsdlab run`');
  return { ...parsed.data, config: config.data };
}

export function readGenerateRecord(dir: string, index: number, shards: number): GenerateShardRecord | undefined {
  const path = generateRecordPath(dir, index, shards);
  if (!existsSync(path)) return undefined;
  const parsed = recordSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success && parsed.data.index === index && parsed.data.shards === shards ? parsed.data : undefined;
}

/** hashes the images of a finished range and records them: the shard's last write, so a killed shard has no record */
export async function writeGenerateRecord(dir: string, index: number, shards: number, range: ShardRange): Promise<GenerateShardRecord> {
  const stage = stageFolderOf(dir);
  const images: GenerateShardRecord['images'] = [];
  for (let i = range.start; i < range.end; i++) images.push({ file: imageFile(i), sha256: await sha256File(join(stage, imageFile(i))) });
  const record = { index, shards, ...range, images };
  await writeJsonAtomically(generateRecordPath(dir, index, shards), record);
  return record;
}

/**
 * The images of a record that are missing or differ from their recorded bytes. Such a shard runs again: its
 * changed images are deleted (the shard writes only what is missing), and so is its record.
 */
async function staleImages(stage: string, record: GenerateShardRecord, range: ShardRange): Promise<string[]> {
  if (record.start !== range.start || record.end !== range.end || record.images.length !== range.end - range.start) return record.images.map((r) => r.file);
  const stale: string[] = [];
  for (const [k, r] of record.images.entries()) {
    const path = join(stage, r.file);
    if (r.file !== imageFile(range.start + k) || !existsSync(path) || (await sha256File(path)) !== r.sha256) stale.push(r.file);
  }
  return stale;
}

/**
 * Generates the cell's images in `spec.shards` shard processes (where `ctx.runShards` puts them), resuming: a shard
 * with a valid record does not run again, a shard killed midway keeps the images it finished.
 */
export async function generateSharded(ctx: StageContext, spec: GenerateShardSpec): Promise<void> {
  const dir = join(ctx.workDir, 'shards');
  const total = spec.shards;
  // the spec depends only on the stage key and the shard count (operational): a rerun with another count rewrites
  // it, and the images already written stay valid (image i is the same for any count)
  await writeJsonAtomically(generateSpecPath(dir), spec);
  const pending: number[] = [];
  for (let i = 0; i < total; i++) {
    const record = readGenerateRecord(dir, i, total);
    const stale = record ? await staleImages(ctx.workDir, record, generateShardRange(spec, i, total)) : [];
    if (record && stale.length === 0) continue;
    for (const f of stale) rmSync(join(ctx.workDir, f), { force: true });
    rmSync(generateRecordPath(dir, i, total), { force: true });
    pending.push(i);
  }
  // progress from the folder itself: local workers and Slurm tasks alike write their images there
  const images = join(ctx.workDir, 'images');
  // what is not a finished image (a killed attempt's temporary) goes before any shard starts: while shards run, each
  // cleans only its own images' names, since another shard's temporary may be a live write
  if (existsSync(images)) for (const name of readdirSync(images).filter((n) => !/^\d{6}\.png$/.test(n))) rmSync(join(images, name), { recursive: true, force: true });
  const count = (): number => (existsSync(images) ? readdirSync(images).filter((n) => /^\d{6}\.png$/.test(n)).length : 0);
  const poll = setInterval(() => ctx.progress(count(), spec.captions.length), 1000);
  poll.unref();
  try {
    await runStageShards(ctx, { action: 'generate-worker', label: 'generate', dir, shards: pending, total });
  } finally {
    clearInterval(poll);
  }
  for (let i = 0; i < total; i++) {
    const record = readGenerateRecord(dir, i, total);
    if (!record) throw new FailureError('SHARDS_INCOMPLETE', `generation shard ${i} of ${total} in ${dir} left no record`, 'see the shard\'s messages (or its Slurm log under shards/slurm/logs), then rerun');
    const stale = await staleImages(ctx.workDir, record, generateShardRange(spec, i, total));
    if (stale.length > 0) throw new FailureError('SHARDS_CHANGED', `generation shard ${i} of ${total}: ${join(ctx.workDir, stale[0]!)} is missing or differs from the sha256 its shard recorded`, 'rerun: the shard writes its changed images again');
  }
  ctx.progress(spec.captions.length, spec.captions.length);
}
