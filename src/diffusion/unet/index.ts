export { initUNet, unetForward, unetDenoiser, parameterCount, disposeParams } from './unet.js';
export type { UNet } from './unet.js';
export { validateUNetConfig, levelChannels } from './config.js';
export type { UNetConfig } from './config.js';
