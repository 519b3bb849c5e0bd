// A diffusers pipeline's tokenizer/ folder (transformers' CLIPTokenizer files) read into a ClipBpeTokenizer:
// vocab.json and merges.txt are required; tokenizer_config.json gives model_max_length and the special tokens,
// special_tokens_map.json overrides those (transformers' from_pretrained order: that is how SD 2.x pads with "!").
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../../errors.js';
import { CLIP_DEFAULT_SPECIAL_TOKENS, ClipBpeTokenizer, type ClipSpecialTokens, type ClipTextCleaning } from './clip-bpe-tokenizer.js';

// a token is written as a string or as a serialised AddedToken {"content": ..., "lstrip": ..., ...}
const tokenSchema = z.union([z.string(), z.looseObject({ content: z.string() })]).transform((t) => (typeof t === 'string' ? t : t.content));

const specialTokensSchema = z.looseObject({
  bos_token: tokenSchema.optional(),
  eos_token: tokenSchema.optional(),
  unk_token: tokenSchema.optional(),
  pad_token: tokenSchema.optional(),
});

const tokenizerConfigSchema = specialTokensSchema.extend({ model_max_length: z.number().int().min(2).optional() });

const vocabSchema = z.record(z.string(), z.number().int().min(0));

// CLIP's context length; transformers' default without model_max_length is "no limit", which the text encoder's 77
// position embeddings cannot take
const DEFAULT_MAX_LENGTH = 77;

const readText = (folder: string, name: string, required: boolean): string | undefined => {
  const path = join(folder, name);
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new BadInputError('SD_TOKENIZER_FILE', `${path}: missing; a CLIP tokenizer folder holds vocab.json and merges.txt`, 'point at the pipeline folder\'s tokenizer/');
  }
  return readFileSync(path, 'utf8');
};

const readJson = <S extends z.ZodType>(folder: string, name: string, schema: S, text: string): z.output<S> => {
  const path = join(folder, name);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BadInputError('SD_TOKENIZER_JSON', `${path}: not JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join('.') || '(root)';
    throw new BadInputError('SD_TOKENIZER_JSON', `${path}  ${key}  ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
};

/** the special tokens: the defaults, then tokenizer_config.json, then special_tokens_map.json */
const specialTokens = (...layers: Array<z.output<typeof specialTokensSchema> | undefined>): ClipSpecialTokens => {
  const out = { ...CLIP_DEFAULT_SPECIAL_TOKENS };
  for (const layer of layers) {
    if (layer?.bos_token !== undefined) out.bos = layer.bos_token;
    if (layer?.eos_token !== undefined) out.eos = layer.eos_token;
    if (layer?.unk_token !== undefined) out.unk = layer.unk_token;
    if (layer?.pad_token !== undefined) out.pad = layer.pad_token;
  }
  return out;
};

/** reads `folder` (a pipeline's tokenizer/ folder); cleaning: see ClipTextCleaning */
export const loadClipBpeTokenizer = (folder: string, options: { cleaning?: ClipTextCleaning } = {}): ClipBpeTokenizer => {
  const vocabText = readText(folder, 'vocab.json', true) as string;
  const merges = readText(folder, 'merges.txt', true) as string;
  const configText = readText(folder, 'tokenizer_config.json', false);
  const mapText = readText(folder, 'special_tokens_map.json', false);
  const config = configText === undefined ? undefined : readJson(folder, 'tokenizer_config.json', tokenizerConfigSchema, configText);
  const map = mapText === undefined ? undefined : readJson(folder, 'special_tokens_map.json', specialTokensSchema, mapText);
  const vocab = readJson(folder, 'vocab.json', vocabSchema, vocabText);
  return ClipBpeTokenizer.fromFiles({
    vocab: new Map(Object.entries(vocab)),
    merges,
    special: specialTokens(config, map),
    maxLength: config?.model_max_length ?? DEFAULT_MAX_LENGTH,
    source: folder,
    cleaning: options.cleaning ?? 'ftfy',
  });
};
