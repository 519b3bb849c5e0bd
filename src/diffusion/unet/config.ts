import { BadInputError } from '../../errors.js';

/** a small SD-style text-conditioned UNet (NHWC) */
export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  /** channels at the first level */
  baseChannels: number;
  /** channel multiplier per level; the resolution halves between levels */
  channelMults: number[];
  resBlocksPerLevel: number;
  /** per level: whether its blocks carry a transformer (self-attention, cross-attention to text, feed-forward) */
  attentionLevels: boolean[];
  /** attention head count (channels at each attention level must divide by it) */
  heads: number;
  /** width of the text embeddings (cross-attention keys/values) */
  condDim: number;
  /** group-norm groups (every channel count must divide by it) */
  groups: number;
  /**
   * pixels per side folded into channels before the first conv and unfolded after the last (space-to-depth, as
   * DiT's patches or "simple diffusion"'s pixel shuffle): the network runs at 1/patch the resolution, patch² cheaper;
   * 1 (default) is SD's layout
   */
  patchSize?: number;
  /**
   * what the network body predicts. 'eps' (default): the body's output is ε̂, as SD 2.1-base. 'v': the body predicts
   * v = α_t ε − σ_t x0 (as SD 2.1-768) and the module returns ε̂ = σ_t x_t + α_t v̂ (SD's scaled-linear schedule), so
   * every caller still sees an ε-prediction network. Small pixel-space networks need it: an ε body must reproduce
   * x_t to within α_T ≈ 0.07 at t = T, and its one-step sample x0 = (x_T − σ ε̂)/α is noise; a v body's is the
   * blurry mean image SD's one-step sample is
   */
  bodyPredicts?: 'eps' | 'v';
  /** zero-init the layers that close a residual branch and the output conv (ADM/SD practice); off for tests */
  zeroInit?: boolean;
}

export const levelChannels = (config: UNetConfig): number[] => config.channelMults.map((m) => m * config.baseChannels);

export const timeEmbedDim = (config: UNetConfig): number => 4 * config.baseChannels;

export const validateUNetConfig = (config: UNetConfig): UNetConfig => {
  const bad = (message: string): never => {
    throw new BadInputError('UNET_CONFIG', message);
  };
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) bad(`unet ${name} must be a positive integer, got ${v}`);
  };
  positive('inChannels', config.inChannels);
  positive('outChannels', config.outChannels);
  positive('baseChannels', config.baseChannels);
  positive('resBlocksPerLevel', config.resBlocksPerLevel);
  positive('heads', config.heads);
  positive('condDim', config.condDim);
  positive('groups', config.groups);
  if (config.patchSize !== undefined) positive('patchSize', config.patchSize);
  if (config.bodyPredicts !== undefined && config.bodyPredicts !== 'eps' && config.bodyPredicts !== 'v') bad(`unet bodyPredicts must be eps or v, got ${String(config.bodyPredicts)}`);
  if (config.channelMults.length === 0) bad('unet channelMults must name at least one level');
  config.channelMults.forEach((m) => positive('channelMults entry', m));
  if (config.attentionLevels.length !== config.channelMults.length) {
    bad(`unet attentionLevels has ${config.attentionLevels.length} entries for ${config.channelMults.length} levels`);
  }
  for (const [i, c] of levelChannels(config).entries()) {
    if (c % config.groups !== 0) bad(`unet level ${i} has ${c} channels, not divisible by ${config.groups} groups`);
    if (config.attentionLevels[i] === true && c % config.heads !== 0) bad(`unet level ${i} has ${c} channels, not divisible by ${config.heads} heads`);
  }
  return config;
};

/** the side every input must divide by: the patch times the down-sampling of all levels */
export const inputMultiple = (config: UNetConfig): number => (config.patchSize ?? 1) * 2 ** (config.channelMults.length - 1);
