// The samplers `vsdlab sample` offers, without loading tfjs (the command line lists them before any network loads).
export const SD_SAMPLERS = ['ddim', 'ddpm', 'dpm-solver++2m', 'one-step'] as const;
export type SdSampler = (typeof SD_SAMPLERS)[number];
