/**
 * A sharded checkpoint (`*.safetensors.index.json`: {"metadata": {...}, "weight_map": {tensor: shard file}}, as
 * transformers and diffusers write it) as one lazy view. Every shard's header is read on open and checked against
 * the index: a missing shard, a tensor the index places in a shard that lacks it, a tensor the index does not list,
 * and a name held by two shards are each an error naming the index, the shard and the tensor.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';
import { BadInputError, MissingAssetError } from '../errors.js';
import { openSafetensors } from './safetensors-file.js';
import type { TensorData, TensorInfo, WeightView } from './weight-view.js';

const IndexFile = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

const HINT = 'the sharded checkpoint is incomplete or inconsistent: download or save it again';

/** opens the index at `path` and the shards it names (relative to its folder) */
export function openSafetensorsIndex(path: string): WeightView {
  const index = readIndex(path);
  const dir = dirname(path);
  const shards = new Map<string, WeightView>();
  try {
    for (const shard of [...new Set(Object.values(index.weight_map))].sort()) {
      // a shard is a file beside the index: a path that climbs out of the folder is not one
      if (isAbsolute(shard) || normalize(shard).split(sep).includes('..')) {
        throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: weight_map names shard "${shard}" outside the index's folder`, HINT);
      }
      const file = join(dir, shard);
      try {
        shards.set(shard, openSafetensors(file));
      } catch (e) {
        if (e instanceof MissingAssetError) throw new MissingAssetError('WEIGHTS_SHARD_MISSING', `${path}: shard ${shard} (weight_map) does not exist`, HINT);
        throw e;
      }
    }
    const owner = new Map<string, string>();
    for (const [shard, view] of shards) {
      for (const name of view.names()) {
        const listed = index.weight_map[name];
        const previous = owner.get(name);
        if (previous !== undefined) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: tensor ${name} is in both ${previous} and ${shard}`, HINT);
        owner.set(name, shard);
        if (listed === undefined) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: shard ${shard} holds tensor ${name}, which weight_map does not list`, HINT);
        if (listed !== shard) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: weight_map puts tensor ${name} in ${listed}, but ${shard} holds it`, HINT);
      }
    }
    for (const [name, shard] of Object.entries(index.weight_map)) {
      if (!owner.has(name)) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: weight_map puts tensor ${name} in ${shard}, which does not hold it`, HINT);
    }
  } catch (e) {
    for (const view of shards.values()) view.close();
    throw e;
  }
  const metadata = Object.fromEntries(Object.entries(index.metadata ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  return new ShardedView(path, index.weight_map, shards, metadata);
}

function readIndex(path: string): z.infer<typeof IndexFile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MissingAssetError('WEIGHTS_MISSING', `${path}: no such weights index`);
    throw new BadInputError('WEIGHTS_UNREADABLE', `${path}: cannot read the weights index (${code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: not JSON (${(e as Error).message})`, HINT);
  }
  const parsed = IndexFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BadInputError('WEIGHTS_INDEX_INVALID', `${path}: ${issue.path.join('.') || '(top level)'}  ${issue.message}`, HINT);
  }
  return parsed.data;
}

class ShardedView implements WeightView {
  readonly files: readonly string[];

  constructor(
    path: string,
    private readonly weightMap: Record<string, string>,
    private readonly shards: Map<string, WeightView>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.files = [path, ...[...shards.values()].flatMap((s) => s.files)];
  }

  names(): string[] {
    return Object.keys(this.weightMap).sort();
  }

  private shard(name: string): WeightView | undefined {
    const shard = this.weightMap[name];
    return shard === undefined ? undefined : this.shards.get(shard);
  }

  info(name: string): TensorInfo | undefined {
    return this.shard(name)?.info(name);
  }

  read(name: string): TensorData {
    const shard = this.shard(name);
    if (shard === undefined) {
      throw new BadInputError('WEIGHTS_MISMATCH', `${this.files[0]}: no tensor ${name} in weight_map`, 'the checkpoint does not hold the weights asked for: check it against its config');
    }
    return shard.read(name);
  }

  close(): void {
    for (const view of this.shards.values()) view.close();
  }
}
