import type { UNetConfig } from '../../src/diffusion/index.js';

/** the smallest UNet with every block kind (res blocks, down/up sampling, a transformer at the second level), random weights everywhere */
export const TINY_UNET: UNetConfig = {
  inChannels: 3,
  outChannels: 3,
  baseChannels: 8,
  channelMults: [1, 2],
  resBlocksPerLevel: 1,
  attentionLevels: [false, true],
  heads: 2,
  condDim: 12,
  groups: 4,
  zeroInit: false,
};
