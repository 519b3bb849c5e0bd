// what one shard of an evaluation leaves on disk: its float64 moment state (FeatureAccumulator snapshot), its
// feature rows (KID and precision/recall need every row; the clean-fid float32 mean needs them in order) and its
// CLIP cosines, for the images [start, end) of the set. An .npz of the arrays plus a JSON that names it by
// sha256: the JSON is written last, so a shard killed midway leaves no state that looks finished.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../../errors.js';
import { writeFileAtomically, writeJsonAtomically } from '../../util/atomic-write.js';
import { sha256 } from '../../util/hash.js';
import type { AccumulatorSnapshot } from '../stats/feature-accumulator.js';
import { decodeNpz, encodeNpz } from '../stats/npz-stats.js';

export interface ShardState {
  index: number;
  shards: number;
  start: number;
  end: number;
  /** the files of the range, relative to the image folder, in stream order (checked at merge) */
  files: string[];
  /** the extractor (sha256), its input size and the preprocessing the rows came from */
  extractor: string;
  resolution: number;
  mode: string;
  /** moments of the rows; dims 0 and n 0 for an empty shard */
  snapshot: AccumulatorSnapshot;
  /** rows x dims float32, in file order */
  features: Float32Array;
  /** CLIP cosine of each image with its caption, in file order; absent when no CLIP model was given */
  cosines?: Float64Array;
  /** sha256 of the CLIP image and text towers the cosines came from */
  clip?: string;
}

const metaSchema = z.object({
  index: z.number().int().nonnegative(),
  shards: z.number().int().positive(),
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  files: z.array(z.string()),
  extractor: z.string(),
  resolution: z.number().int().nonnegative(),
  mode: z.string(),
  dims: z.number().int().nonnegative(),
  n: z.number().int().nonnegative(),
  clip: z.string().optional(),
  npz: z.object({ file: z.string(), sha256: z.string() }),
});

const pad = (i: number): string => String(i).padStart(5, '0');

/** the JSON that marks shard `index` of `shards` as done, inside `dir` */
export const shardStatePath = (dir: string, index: number, shards: number): string => join(dir, `shard-${pad(index)}-of-${pad(shards)}.json`);

export async function writeShardState(dir: string, s: ShardState): Promise<string> {
  const jsonPath = shardStatePath(dir, s.index, s.shards);
  const npzPath = jsonPath.replace(/\.json$/, '.npz');
  const d = s.snapshot.dims;
  const rows = d === 0 ? 0 : s.features.length / d;
  const npz = encodeNpz({
    mean: { data: s.snapshot.mean, shape: [d] },
    m2: { data: s.snapshot.m2, shape: [d, d] },
    sum32: { data: s.snapshot.sum32, shape: [d] },
    features: { data: s.features, shape: [rows, d] },
    ...(s.cosines ? { cosines: { data: s.cosines, shape: [s.cosines.length] } } : {}),
  });
  await writeFileAtomically(npzPath, npz);
  const { snapshot, features: _f, cosines: _c, ...meta } = s;
  await writeJsonAtomically(jsonPath, { ...meta, dims: d, n: snapshot.n, npz: { file: basename(npzPath), sha256: sha256(npz) } });
  return jsonPath;
}

/** the finished state of a shard, or undefined when it has not finished (no JSON yet) */
export function readShardState(dir: string, index: number, shards: number): ShardState | undefined {
  const jsonPath = shardStatePath(dir, index, shards);
  if (!existsSync(jsonPath)) return undefined;
  const parsed = metaSchema.safeParse(JSON.parse(readFileSync(jsonPath, 'utf8')));
  if (!parsed.success) throw new BadInputError('SHARD_STATE_BAD', `${jsonPath}: not a shard state (${parsed.error.issues[0]?.message})`, 'delete it and rerun the shard');
  const meta = parsed.data;
  const npzPath = join(dir, meta.npz.file);
  const bytes = readFileSync(npzPath);
  if (sha256(bytes) !== meta.npz.sha256) throw new BadInputError('SHARD_STATE_CHANGED', `${npzPath}: its sha256 is not the one ${basename(jsonPath)} records`, 'delete both files and rerun the shard');
  const arrays = decodeNpz(bytes, npzPath);
  const get = (name: string): Float64Array | Float32Array => {
    const a = arrays.get(name);
    if (!a) throw new BadInputError('SHARD_STATE_BAD', `${npzPath}: no ${name} array`, 'delete it and rerun the shard');
    return a.data as Float64Array | Float32Array;
  };
  const cos = arrays.get('cosines');
  const { npz: _n, dims, n, ...rest } = meta;
  return {
    ...rest,
    snapshot: { dims, n, mean: Float64Array.from(get('mean')), m2: Float64Array.from(get('m2')), sum32: Float32Array.from(get('sum32')) },
    features: Float32Array.from(get('features')),
    ...(cos ? { cosines: Float64Array.from(cos.data as Float64Array) } : {}),
  };
}
