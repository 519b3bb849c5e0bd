/**
 * Which weight files a component folder's model loads, by the libraries' naming rules (diffusers
 * `_add_variant`/`_fetch_index_file`, transformers the same): a shard index first, then one file; with a variant
 * (`fp16`), its name goes before the last extension (`diffusion_pytorch_model.fp16.safetensors`,
 * `diffusion_pytorch_model.safetensors.index.fp16.json`, or diffusers 0.29-0.30's legacy
 * `diffusion_pytorch_model.safetensors.fp16.index.json`). Only safetensors is read: pickled weights (.bin, .ckpt)
 * can run code when loaded and are refused with the conversion to use.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { z } from 'zod';
import { BadInputError, MissingAssetError } from '../../errors.js';

/** diffusers models are `diffusion_pytorch_model.*`, transformers models `model.*` */
export type WeightsBase = 'diffusion_pytorch_model' | 'model';

export interface ComponentWeights {
  /** the file to open: a `.safetensors` file or a `.json` shard index */
  path: string;
  sharded: boolean;
  /** every file the weights are read from, index first, then its shards in name order */
  files: string[];
}

/** diffusers' `_add_variant`: the variant goes before the last dot-separated part */
export function addVariant(name: string, variant?: string): string {
  if (variant === undefined) return name;
  const parts = name.split('.');
  return [...parts.slice(0, -1), variant, ...parts.slice(-1)].join('.');
}

/**
 * Whether a pipeline loads the component in `dir` as `variant`: diffusers (v0.27.2 `from_pretrained`, step 2) does
 * when any file's second dot-separated part starts with it (`diffusion_pytorch_model.fp16.safetensors`,
 * `model.fp16-00001-of-00002.safetensors`), and loads the plain weights otherwise.
 */
export function componentVariant(present: readonly string[], variant?: string): string | undefined {
  if (variant === undefined) return undefined;
  const named = present.some((n) => n.split('.')[1]?.startsWith(variant) === true || weightCandidates('diffusion_pytorch_model', variant).includes(n) || weightCandidates('model', variant).includes(n));
  return named ? variant : undefined;
}

/** the names tried in `dir`, in diffusers' order */
export function weightCandidates(base: WeightsBase, variant?: string): string[] {
  const index = `${base}.safetensors.index.json`;
  const names = [addVariant(index, variant)];
  if (variant !== undefined) names.push(`${base}.safetensors.${variant}.index.json`); // diffusers 0.29-0.30 wrote this
  names.push(addVariant(`${base}.safetensors`, variant));
  return names;
}

const PICKLED = /\.(bin|ckpt|pt|pth|pkl)$|\.bin\.index(\.[^.]+)?\.json$/;
const OTHER = /\.(msgpack|onnx|h5|gguf)$/;
const CONVERT_HINT = "convert it once with diffusers: `DiffusionPipeline.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)` (pickled weights are not read: loading them can run code)";

const ShardIndex = z.object({ weight_map: z.record(z.string(), z.string()) });

/** finds the weights of the component folder `dir` (`component` names it in messages) */
export function findComponentWeights(dir: string, component: string, base: WeightsBase, variant?: string): ComponentWeights {
  const present = existsSync(dir) ? readdirSync(dir) : [];
  for (const name of weightCandidates(base, variant)) {
    if (!present.includes(name)) continue;
    const path = join(dir, name);
    if (!name.endsWith('.json')) return { path, sharded: false, files: [path] };
    return { path, sharded: true, files: [path, ...shardFiles(path, dir)] };
  }
  const wanted = weightCandidates(base, variant).at(-1)!;
  const pickled = present.filter((n) => PICKLED.test(n)).sort();
  if (pickled.length > 0) {
    throw new BadInputError('SD_WEIGHTS_PICKLED', `${join(dir, pickled[0]!)}: ${component} has pickled weights only, no ${wanted}`, CONVERT_HINT);
  }
  if (variant !== undefined) {
    const plain = weightCandidates(base).find((n) => present.includes(n));
    if (plain !== undefined) {
      throw new MissingAssetError('SD_WEIGHTS_NO_VARIANT', `${join(dir, wanted)}: ${component} has no "${variant}" variant (it has ${plain})`, `leave the variant out, or save the pipeline with save_pretrained(..., variant="${variant}")`);
    }
  }
  const other = present.filter((n) => OTHER.test(n) || n.endsWith('.safetensors') || n.endsWith('.safetensors.index.json')).sort();
  const variants = [...new Set(other.map((n) => new RegExp(`^${base}\\.([^.]+)\\.safetensors$`).exec(n)?.[1]).filter((v) => v !== undefined))];
  const found = other.length > 0 ? ` (found ${other.join(', ')})` : '';
  const hint = variants.length > 0 ? `ask for its variant (${variants.map((v) => `"${v}"`).join(', ')})` : 'save the pipeline with diffusers save_pretrained(..., safe_serialization=True), or download it whole';
  throw new MissingAssetError('SD_WEIGHTS_MISSING', `${join(dir, wanted)}: ${component} has no safetensors weights by that name${found}`, hint);
}

/** the shard files an index names, each checked to exist (their headers are checked when the weights open) */
function shardFiles(index: string, dir: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(index, 'utf8'));
  } catch (e) {
    throw new BadInputError('WEIGHTS_INDEX_INVALID', `${index}: not a readable JSON shard index (${(e as Error).message})`);
  }
  const parsed = ShardIndex.safeParse(raw);
  if (!parsed.success) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${index}: weight_map  is not a map of tensor names to shard files`);
  const shards = [...new Set(Object.values(parsed.data.weight_map))].sort();
  for (const shard of shards) {
    if (isAbsolute(shard) || normalize(shard).split(sep).includes('..')) throw new BadInputError('WEIGHTS_INDEX_INVALID', `${index}: weight_map names shard "${shard}" outside the index's folder`);
    if (!existsSync(join(dir, shard))) throw new MissingAssetError('WEIGHTS_SHARD_MISSING', `${index}: shard ${shard} (weight_map) does not exist`, 'the sharded checkpoint is incomplete: download or save it again');
  }
  return shards.map((s) => join(dir, s));
}
