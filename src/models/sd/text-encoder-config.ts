/**
 * text_encoder/config.json: transformers' CLIPTextConfig (its published defaults) for CLIPTextModel, the text
 * tower of Stable Diffusion 1.x (OpenAI CLIP ViT-L/14, quick_gelu) and 2.x (OpenCLIP ViT-H/14, gelu).
 */
import { z } from 'zod';
import { oneOf, parseConfig, type ConfigSpec, type JsonObject, type ParsedConfig } from './config-file.js';

const int = z.number().int();

export const TEXT_ACTIVATIONS = ['quick_gelu', 'gelu'] as const;

export const TextEncoderConfig = z.object({
  vocab_size: int.positive().default(49408),
  hidden_size: int.positive().default(512),
  intermediate_size: int.positive().default(2048),
  num_hidden_layers: int.positive().default(12),
  num_attention_heads: int.positive().default(8),
  max_position_embeddings: int.positive().default(77),
  hidden_act: z.enum(TEXT_ACTIVATIONS).default('quick_gelu'),
  layer_norm_eps: z.number().positive().default(1e-5),
  // the pooled output takes the eos token's position; transformers finds it by this id (or by argmax when it is 2)
  pad_token_id: int.nullable().default(1),
  bos_token_id: int.nullable().default(49406),
  eos_token_id: int.nullable().default(49407),
  projection_dim: int.positive().default(512),
});
export type TextEncoderConfig = z.infer<typeof TextEncoderConfig>;

const SPEC: ConfigSpec<typeof TextEncoderConfig> = {
  what: 'text encoder config',
  schema: TextEncoderConfig,
  gates: {
    hidden_act: oneOf('hidden_act', ...TEXT_ACTIVATIONS),
    architectures: oneOf('architectures', ['CLIPTextModel'], null),
    model_type: oneOf('model_type', 'clip_text_model'),
  },
  // transformers' PretrainedConfig bookkeeping and training-only values: known, no effect on the forward pass
  ignored: ['torch_dtype', 'transformers_version', 'attention_dropout', 'dropout', 'initializer_range', 'initializer_factor', 'use_cache', 'output_attentions', 'output_hidden_states', 'return_dict'],
  check: (c) =>
    c.hidden_size % c.num_attention_heads === 0 ? [] : [{ path: ['num_attention_heads'], message: `${c.num_attention_heads} does not divide hidden_size ${c.hidden_size}` }],
};

export const parseTextEncoderConfig = (path: string, raw: JsonObject): ParsedConfig<TextEncoderConfig> => parseConfig(path, raw, SPEC);
