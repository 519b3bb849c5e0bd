/**
 * vae/config.json: diffusers' AutoencoderKL (v0.27.2 `__init__` defaults, and the keys later versions added) as
 * far as the engine implements it: DownEncoderBlock2D/UpDecoderBlock2D, a mid block with attention, the quant
 * convolutions. `force_upcast` and `latents_mean`/`latents_std` are accepted: they change how a pipeline calls the
 * VAE, not the VAE.
 */
import { z } from 'zod';
import { eachOneOf, oneOf, parseConfig, type ConfigSpec, type JsonObject, type ParsedConfig } from './config-file.js';

const int = z.number().int();

export const VaeConfig = z.object({
  in_channels: int.positive().default(3),
  out_channels: int.positive().default(3),
  down_block_types: z.array(z.literal('DownEncoderBlock2D')).default(() => ['DownEncoderBlock2D' as const]),
  up_block_types: z.array(z.literal('UpDecoderBlock2D')).default(() => ['UpDecoderBlock2D' as const]),
  block_out_channels: z.array(int.positive()).min(1).default(() => [64]),
  layers_per_block: int.positive().default(1),
  latent_channels: int.positive().default(4),
  norm_num_groups: int.positive().default(32),
  sample_size: int.positive().default(32),
  scaling_factor: z.number().positive().default(0.18215),
  latents_mean: z.array(z.number()).nullable().default(null),
  latents_std: z.array(z.number()).nullable().default(null),
  force_upcast: z.boolean().default(true),
});
export type VaeConfig = z.infer<typeof VaeConfig>;

const SPEC: ConfigSpec<typeof VaeConfig> = {
  what: 'VAE config',
  schema: VaeConfig,
  gates: {
    down_block_types: eachOneOf('down_block_types', 'DownEncoderBlock2D'),
    up_block_types: eachOneOf('up_block_types', 'UpDecoderBlock2D'),
    act_fn: oneOf('act_fn', 'silu'),
    shift_factor: oneOf('shift_factor', null),
    use_quant_conv: oneOf('use_quant_conv', true),
    use_post_quant_conv: oneOf('use_post_quant_conv', true),
    mid_block_add_attention: oneOf('mid_block_add_attention', true),
  },
  check: (c) => {
    const n = c.block_out_channels.length;
    return (['down_block_types', 'up_block_types'] as const)
      .filter((key) => c[key].length !== n)
      .map((key) => ({ path: [key], message: `has ${c[key].length} entries, block_out_channels has ${n}` }));
  },
};

export const parseVaeConfig = (path: string, raw: JsonObject): ParsedConfig<VaeConfig> => parseConfig(path, raw, SPEC);
