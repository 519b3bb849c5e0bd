/**
 * unet/config.json: diffusers' UNet2DConditionModel (v0.27.2 `__init__` defaults) as far as the engine implements
 * it, the Stable Diffusion 1.x/2.x UNet: cross-attention and plain down/up blocks, one transformer layer per block,
 * a cross-attention mid block, sinusoidal timestep embeddings. Everything else must hold its default.
 */
import { z } from 'zod';
import { eachOneOf, oneOf, parseConfig, type ConfigSpec, type JsonObject, type ParsedConfig } from './config-file.js';

export const UNET_DOWN_BLOCKS = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UNET_UP_BLOCKS = ['UpBlock2D', 'CrossAttnUpBlock2D'] as const;
export const UNET_MID_BLOCKS = ['UNetMidBlock2DCrossAttn'] as const;

const int = z.number().int();
const perBlock = (d: number) => z.union([int.positive(), z.array(int.positive())]).default(d);

export const UNetConfig = z.object({
  sample_size: int.positive().nullable().default(null),
  in_channels: int.positive().default(4),
  out_channels: int.positive().default(4),
  center_input_sample: z.boolean().default(false),
  flip_sin_to_cos: z.boolean().default(true),
  freq_shift: z.number().default(0),
  down_block_types: z.array(z.enum(UNET_DOWN_BLOCKS)).default((): Array<(typeof UNET_DOWN_BLOCKS)[number]> => ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']),
  mid_block_type: z.enum(UNET_MID_BLOCKS).default('UNetMidBlock2DCrossAttn'),
  up_block_types: z.array(z.enum(UNET_UP_BLOCKS)).default((): Array<(typeof UNET_UP_BLOCKS)[number]> => ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']),
  block_out_channels: z.array(int.positive()).min(1).default(() => [320, 640, 1280, 1280]),
  layers_per_block: perBlock(2),
  downsample_padding: int.nonnegative().default(1),
  mid_block_scale_factor: z.number().default(1),
  norm_num_groups: int.positive().default(32),
  norm_eps: z.number().positive().default(1e-5),
  cross_attention_dim: perBlock(1280),
  // diffusers' misnomer: with num_attention_heads unset, this is the number of heads per block (diffusers #2011)
  attention_head_dim: perBlock(8),
  use_linear_projection: z.boolean().default(false),
  // an fp16 precision switch: the engine computes attention in float32 either way
  upcast_attention: z.boolean().default(false),
});
export type UNetConfig = z.infer<typeof UNetConfig>;

const SPEC: ConfigSpec<typeof UNetConfig> = {
  what: 'UNet config',
  schema: UNetConfig,
  gates: {
    // block types are gated here so the message lists what is implemented; the schema then only sees those
    down_block_types: eachOneOf('down_block_types', ...UNET_DOWN_BLOCKS),
    up_block_types: eachOneOf('up_block_types', ...UNET_UP_BLOCKS),
    mid_block_type: oneOf('mid_block_type', ...UNET_MID_BLOCKS),
    act_fn: oneOf('act_fn', 'silu'),
    only_cross_attention: eachOneOf('only_cross_attention', false),
    transformer_layers_per_block: eachOneOf('transformer_layers_per_block', 1),
    reverse_transformer_layers_per_block: oneOf('reverse_transformer_layers_per_block', null),
    encoder_hid_dim: oneOf('encoder_hid_dim', null),
    encoder_hid_dim_type: oneOf('encoder_hid_dim_type', null),
    num_attention_heads: oneOf('num_attention_heads', null), // diffusers v0.27.2 itself refuses it
    dual_cross_attention: oneOf('dual_cross_attention', false),
    class_embed_type: oneOf('class_embed_type', null),
    addition_embed_type: oneOf('addition_embed_type', null),
    addition_time_embed_dim: oneOf('addition_time_embed_dim', null),
    num_class_embeds: oneOf('num_class_embeds', null),
    projection_class_embeddings_input_dim: oneOf('projection_class_embeddings_input_dim', null),
    class_embeddings_concat: oneOf('class_embeddings_concat', false),
    resnet_time_scale_shift: oneOf('resnet_time_scale_shift', 'default'),
    resnet_skip_time_act: oneOf('resnet_skip_time_act', false),
    resnet_out_scale_factor: oneOf('resnet_out_scale_factor', 1),
    time_embedding_type: oneOf('time_embedding_type', 'positional'),
    time_embedding_dim: oneOf('time_embedding_dim', null),
    time_embedding_act_fn: oneOf('time_embedding_act_fn', null),
    timestep_post_act: oneOf('timestep_post_act', null),
    time_cond_proj_dim: oneOf('time_cond_proj_dim', null),
    conv_in_kernel: oneOf('conv_in_kernel', 3),
    conv_out_kernel: oneOf('conv_out_kernel', 3),
    attention_type: oneOf('attention_type', 'default'),
    cross_attention_norm: oneOf('cross_attention_norm', null),
  },
  // known to diffusers, no effect on this UNet: dropout at inference; options of blocks it does not have
  ignored: ['dropout', 'mid_block_only_cross_attention', 'addition_embed_type_num_heads'],
  check: (c) => {
    const n = c.block_out_channels.length;
    const lists: Array<[string, unknown]> = [
      ['down_block_types', c.down_block_types],
      ['up_block_types', c.up_block_types],
      ['layers_per_block', c.layers_per_block],
      ['cross_attention_dim', c.cross_attention_dim],
      ['attention_head_dim', c.attention_head_dim],
    ];
    // diffusers raises the same ValueError: every per-block list has one entry per block_out_channels entry
    return lists
      .filter(([, v]) => Array.isArray(v) && v.length !== n)
      .map(([key, v]) => ({ path: [key], message: `has ${(v as unknown[]).length} entries, block_out_channels has ${n}` }));
  },
};

export const parseUNetConfig = (path: string, raw: JsonObject): ParsedConfig<UNetConfig> => parseConfig(path, raw, SPEC);
