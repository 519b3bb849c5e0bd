// The experiment file names LoRA targets by short group names; these are the UNet layers each group adapts.
// q, k, v, out are SwiftBrush's attention projections (it adapts q and v); the rest let a small LoRA teacher
// reach the layers attention does not (the embedded UNet has no attention at its full-resolution level).
export const LORA_TARGET_LAYERS = {
  q: ['to_q'],
  k: ['to_k'],
  v: ['to_v'],
  out: ['to_out'],
  proj: ['proj_in', 'proj_out'],
  ff: ['ff.proj', 'ff.out'],
  time: ['time_proj'],
  conv: ['conv1', 'conv2'],
} as const;

export type LoraTargetGroup = keyof typeof LORA_TARGET_LAYERS;
export const LORA_TARGET_GROUPS = Object.keys(LORA_TARGET_LAYERS) as [LoraTargetGroup, ...LoraTargetGroup[]];

/** the layer names (as `loraTargetsOf` matches them) for a list of target groups */
export const loraLayersOf = (groups: readonly LoraTargetGroup[]): string[] => [...new Set(groups.flatMap((g) => LORA_TARGET_LAYERS[g]))];
