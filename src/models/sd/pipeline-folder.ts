/**
 * A diffusers Stable Diffusion pipeline folder (what `save_pretrained` writes): model_index.json names the
 * components; unet, vae and text_encoder each have a config the engine implements and safetensors weights;
 * tokenizer has vocab.json and merges.txt; scheduler has scheduler_config.json (its keys are checked by
 * diffusion/, which owns schedulers). safety_checker and feature_extractor are ignored. Reading a folder checks all
 * of it and reads no weight data; the weights open lazily (openComponentWeights) for a shape check before loading.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { BadInputError, MissingAssetError } from '../../errors.js';
import { openWeights } from '../../weights/open-weights.js';
import type { WeightView } from '../../weights/weight-view.js';
import { readJsonObject, type JsonObject } from './config-file.js';
import { parseTextEncoderConfig, type TextEncoderConfig } from './text-encoder-config.js';
import { parseUNetConfig, type UNetConfig } from './unet-config.js';
import { parseVaeConfig, type VaeConfig } from './vae-config.js';
import { componentVariant, findComponentWeights, type ComponentWeights, type WeightsBase } from './weight-files.js';

const ModelIndex = z.looseObject({ _class_name: z.string(), _diffusers_version: z.string() });
const ComponentEntry = z.tuple([z.string().nullable(), z.string().nullable()]);

/** the components the engine reads, with the [library, class] pairs it implements for each */
export const PIPELINE_COMPONENTS = {
  unet: [['diffusers', 'UNet2DConditionModel']],
  vae: [['diffusers', 'AutoencoderKL']],
  text_encoder: [['transformers', 'CLIPTextModel']],
  tokenizer: [['transformers', 'CLIPTokenizer'], ['transformers', 'CLIPTokenizerFast']],
  scheduler: 'any diffusers scheduler',
} as const;
export type ComponentName = keyof typeof PIPELINE_COMPONENTS;

// components a Stable Diffusion pipeline may list that the engine does not use
const UNUSED_COMPONENTS = new Set(['safety_checker', 'feature_extractor', 'image_encoder']);

export interface ModelComponent<C> {
  name: 'unet' | 'vae' | 'text_encoder';
  dir: string;
  configPath: string;
  config: C;
  /** the variant its weights are, when the pipeline asked for one and the component has it */
  variant: string | undefined;
  weights: ComponentWeights;
}

export interface PipelineFolder {
  dir: string;
  modelIndexPath: string;
  /** model_index.json `_class_name`, e.g. StableDiffusionPipeline */
  className: string;
  diffusersVersion: string;
  variant: string | undefined;
  unet: ModelComponent<UNetConfig>;
  vae: ModelComponent<VaeConfig>;
  textEncoder: ModelComponent<TextEncoderConfig>;
  /** vocab.json and merges.txt, then tokenizer_config.json / special_tokens_map.json where present (SD 2 pads with "!" by them) */
  tokenizer: { dir: string; className: string; vocab: string; merges: string; extra: string[] };
  /** scheduler_config.json as read: diffusion/ validates it */
  scheduler: { dir: string; className: string; configPath: string; config: JsonObject };
  /** ignored keys and components, one line each */
  warnings: string[];
}

export interface PipelineFolderOptions {
  /** a weights variant, e.g. "fp16": read where a component has it, the plain weights elsewhere (as diffusers does) */
  variant?: string;
}

const HINT_RESAVE = 'a diffusers pipeline folder as save_pretrained writes it has one: save or download the pipeline again';

/** whether `path` is a diffusers pipeline folder (it has a model_index.json), not the embedded teacher's layout */
export const isPipelineFolder = (path: string): boolean => existsSync(join(path, 'model_index.json'));

/** reads and checks the pipeline folder `dir`; the first problem is thrown, one line naming the file and key */
export function readPipelineFolder(dir: string, options: PipelineFolderOptions = {}): PipelineFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new MissingAssetError('SD_PIPELINE_MISSING', `${dir}: no such pipeline folder`);
  const modelIndexPath = join(dir, 'model_index.json');
  if (!existsSync(modelIndexPath)) {
    const single = readdirSync(dir).filter((n) => /\.(ckpt|safetensors)$/.test(n));
    if (single.length > 0) {
      throw new BadInputError(
        'SD_PIPELINE_SINGLE_FILE',
        `${join(dir, single.sort()[0]!)}: a single-file checkpoint, not a diffusers folder (no model_index.json)`,
        'convert it once with diffusers: `StableDiffusionPipeline.from_single_file(path).save_pretrained(dir, safe_serialization=True)`',
      );
    }
  }
  const raw = readJsonObject(modelIndexPath, 'model_index.json');
  const parsed = ModelIndex.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BadInputError('SD_PIPELINE_INVALID', `${modelIndexPath}  ${issue.path.join('.')}  ${issue.message}`, HINT_RESAVE);
  }
  const warnings: string[] = [];
  const classes = new Map<string, [string | null, string | null]>();
  for (const [key, value] of Object.entries(raw)) {
    const entry = ComponentEntry.safeParse(value);
    if (key.startsWith('_') || !entry.success) continue; // metadata, or a pipeline argument such as requires_safety_checker
    classes.set(key, entry.data);
  }
  for (const name of Object.keys(PIPELINE_COMPONENTS) as ComponentName[]) {
    const pair = classes.get(name);
    if (pair === undefined || pair[0] === null) {
      throw new BadInputError('SD_PIPELINE_INVALID', `${modelIndexPath}  ${name}  ${pair === undefined ? 'missing' : 'null'}: a Stable Diffusion pipeline needs ${Object.keys(PIPELINE_COMPONENTS).join(', ')}`, HINT_RESAVE);
    }
    const allowed = PIPELINE_COMPONENTS[name];
    const ok = typeof allowed === 'string' ? pair[0] === 'diffusers' && pair[1] !== null : allowed.some(([lib, cls]) => pair[0] === lib && pair[1] === cls);
    if (!ok) {
      const implemented = typeof allowed === 'string' ? allowed : allowed.map((p) => JSON.stringify(p)).join(', ');
      throw new BadInputError('SD_CONFIG_UNSUPPORTED', `${modelIndexPath}  ${name}  ${JSON.stringify(pair)} is not supported (supported: ${implemented})`, 'the engine runs Stable Diffusion 1.x/2.x pipelines');
    }
  }
  for (const [key, [lib]] of classes) {
    if (!(key in PIPELINE_COMPONENTS) && !UNUSED_COMPONENTS.has(key) && lib !== null) warnings.push(`${modelIndexPath}  ${key}  component not used, ignored`);
  }

  const folder = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new MissingAssetError('SD_COMPONENT_MISSING', `${path}: the ${name} folder model_index.json names is missing`, HINT_RESAVE);
    }
    return path;
  };
  const model = <C>(name: ModelComponent<C>['name'], base: WeightsBase, parse: (path: string, raw: JsonObject) => { config: C; warnings: string[] }): ModelComponent<C> => {
    const cdir = folder(name);
    const configPath = join(cdir, 'config.json');
    const { config, warnings: w } = parse(configPath, readJsonObject(configPath, `${name} config`));
    warnings.push(...w);
    const variant = componentVariant(readdirSync(cdir), options.variant);
    return { name, dir: cdir, configPath, config, variant, weights: findComponentWeights(cdir, name, base, variant) };
  };
  const unet = model('unet', 'diffusion_pytorch_model', parseUNetConfig);
  const vae = model('vae', 'diffusion_pytorch_model', parseVaeConfig);
  const textEncoder = model('text_encoder', 'model', parseTextEncoderConfig);

  const tdir = folder('tokenizer');
  const need = (file: string): string => {
    const path = join(tdir, file);
    if (!existsSync(path)) throw new MissingAssetError('SD_CONFIG_MISSING', `${path}: no tokenizer ${file}`, HINT_RESAVE);
    return path;
  };
  const tokenizer = {
    dir: tdir,
    className: classes.get('tokenizer')![1]!,
    vocab: need('vocab.json'),
    merges: need('merges.txt'),
    extra: ['special_tokens_map.json', 'tokenizer_config.json'].map((f) => join(tdir, f)).filter((p) => existsSync(p)),
  };

  const sdir = folder('scheduler');
  const configPath = join(sdir, 'scheduler_config.json');
  const scheduler = { dir: sdir, className: classes.get('scheduler')![1]!, configPath, config: readJsonObject(configPath, 'scheduler config') };

  return { dir, modelIndexPath, className: parsed.data._class_name, diffusersVersion: parsed.data._diffusers_version, variant: options.variant, unet, vae, textEncoder, tokenizer, scheduler, warnings };
}

/** the component's weights as a lazy view (one file or a sharded index); the caller closes it */
export const openComponentWeights = (component: ModelComponent<unknown>): WeightView => openWeights(component.weights.path);

/**
 * The files that make the pipeline what it is, for the run identity: model_index.json, every config, the tokenizer
 * files and exactly the weight files used (the variant's, every shard); by their path relative to the folder, so
 * a moved folder keeps its identity. Sorted by that path.
 */
export function pipelineIdentityFiles(p: PipelineFolder): Array<{ relative: string; path: string }> {
  const paths = [
    p.modelIndexPath,
    ...[p.unet, p.vae, p.textEncoder].flatMap((c) => [c.configPath, ...c.weights.files]),
    p.tokenizer.vocab,
    p.tokenizer.merges,
    ...p.tokenizer.extra,
    p.scheduler.configPath,
  ];
  return paths
    .map((path) => ({ relative: relative(p.dir, path).split(sep).join('/'), path }))
    .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}
