// The experiment's LoRA target groups (diffusion/lora-targets.ts) as diffusers' UNet2DConditionModel names its
// layers: the same groups, its module names (attention's output is `to_out.0`, the feed-forward `ff.net.0.proj` and
// `ff.net.2`, a ResBlock's time projection `time_emb_proj`). PEFT's target_modules for SwiftBrush: to_q, to_v.
import type { LoraTargetGroup } from '../../diffusion/lora-targets.js';

export const SD_LORA_TARGET_LAYERS: Record<LoraTargetGroup, readonly string[]> = {
  q: ['to_q'],
  k: ['to_k'],
  v: ['to_v'],
  out: ['to_out.0'],
  proj: ['proj_in', 'proj_out'],
  ff: ['ff.net.0.proj', 'ff.net.2'],
  time: ['time_emb_proj'],
  conv: ['conv1', 'conv2'],
};

/** the SD UNet layer names (as `loraTargetsOf` matches them) for a list of target groups */
export const sdLoraLayersOf = (groups: readonly LoraTargetGroup[]): string[] => [...new Set(groups.flatMap((g) => SD_LORA_TARGET_LAYERS[g]))];
