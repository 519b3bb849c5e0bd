/**
 * Reads a PEFT LoRA adapter folder of a diffusers UNet (what write-peft-adapter.ts and PEFT's `save_pretrained`
 * write) back into the engine's LoraAdapter. Only what the engine computes is accepted: plain LoRA (no DoRA, no
 * rsLoRA, no per-layer rank or alpha patterns, no trained biases, targets as a list of module-name suffixes); any
 * other setting is refused, one line naming the file and key.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadInputError, MissingAssetError } from '../../errors.js';
import type { LoraAdapter } from '../../nn/lora.js';
import type { ParamMap } from '../../nn/params.js';
import { loadSafetensors } from '../../weights/safetensors.js';
import { readJsonObject } from './config-file.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, PEFT_KEY_PREFIX } from './write-peft-adapter.js';

const AdapterConfig = z.looseObject({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  target_modules: z.array(z.string()).min(1),
  use_rslora: z.literal(false).optional(),
  use_dora: z.literal(false).optional(),
  bias: z.literal('none').optional(),
  fan_in_fan_out: z.literal(false).optional(),
  rank_pattern: z.object({}).strict().optional(),
  alpha_pattern: z.object({}).strict().optional(),
});

const HINT = 'the engine reads plain LoRA adapters (PEFT LoraConfig with r, lora_alpha and a list of target_modules)';
const KEY = /^(.*)\.lora_(A|B)\.weight$/;
const LAYOUT_AXES: Record<number, number[]> = { 2: [1, 0], 4: [2, 3, 1, 0] };

export function readPeftAdapter(dir: string): LoraAdapter {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(configPath)) throw new MissingAssetError('PEFT_ADAPTER_MISSING', `${configPath}: no adapter config`, 'a PEFT adapter folder has adapter_config.json and adapter_model.safetensors');
  const parsed = AdapterConfig.safeParse(readJsonObject(configPath, 'adapter config'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BadInputError('PEFT_ADAPTER_UNSUPPORTED', `${configPath}  ${issue.path.join('.')}  ${issue.message}`, HINT);
  }
  if (!existsSync(weightsPath)) throw new MissingAssetError('PEFT_ADAPTER_MISSING', `${weightsPath}: no adapter weights`, 'save the adapter with safe_serialization=True');
  const { tensors } = loadSafetensors(weightsPath);
  const params: ParamMap = {};
  try {
    for (const [key, value] of Object.entries(tensors)) {
      const m = KEY.exec(key);
      const axes = LAYOUT_AXES[value.shape.length];
      if (!key.startsWith(PEFT_KEY_PREFIX) || m === null || axes === undefined) {
        throw new BadInputError('PEFT_ADAPTER_UNSUPPORTED', `${weightsPath}: tensor ${key} is not a LoRA factor of a PeftModel (${PEFT_KEY_PREFIX}<module>.lora_A|lora_B.weight, rank 2 or 4)`, HINT);
      }
      const module = m[1]!.slice(PEFT_KEY_PREFIX.length);
      const t = tf.transpose(value, axes);
      params[`${module}.w.lora_${m[2]!.toLowerCase()}`] = tf.variable(t, true);
      t.dispose();
    }
  } catch (e) {
    tf.dispose(Object.values(params));
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  for (const name of Object.keys(params)) {
    const pair = name.endsWith('.lora_a') ? name.replace(/\.lora_a$/, '.lora_b') : name.replace(/\.lora_b$/, '.lora_a');
    if (params[pair] === undefined) {
      tf.dispose(Object.values(params));
      throw new BadInputError('PEFT_ADAPTER_INVALID', `${weightsPath}: ${name.replace(/\.w\.lora_[ab]$/, '')} has one LoRA factor without the other`, 'save the adapter again');
    }
  }
  const { r, lora_alpha: alpha, target_modules: targets } = parsed.data;
  return { config: { rank: r, alpha, targets }, params, enabled: true };
}
