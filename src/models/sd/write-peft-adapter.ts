/**
 * A LoRA adapter of a diffusers UNet written as the folder PEFT's `PeftModel.save_pretrained` makes for
 * `get_peft_model(unet, LoraConfig(r, lora_alpha, target_modules))` (PEFT v0.10.0): `adapter_config.json` (every
 * LoraConfig field, keys sorted, `inference_mode` true as saving sets it) and `adapter_model.safetensors` with
 * `get_peft_model_state_dict`'s keys, the adapter name removed: `base_model.model.<module>.lora_A.weight` [r, in]
 * and `.lora_B.weight` [out, r] (conv targets: [r, in, k, k] and [out, r, 1, 1]), F32, metadata `{"format": "pt"}`.
 * The engine's adapter holds `<module>.w.lora_a` [in, r] / `.lora_b` [r, out] channels-last with the same scale
 * alpha / r (no rsLoRA), so the files mean exactly what the engine computed.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { publishDir } from '../../util/atomic-write.js';
import type { LoraAdapter } from '../../nn/lora.js';
import { writeSafetensorsFile, type StreamedTensor } from '../../weights/safetensors-writer.js';
import { pythonJson } from './python-json.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PeftModel wraps the model in a LoraModel (`base_model`) that holds it as `model` */
export const PEFT_KEY_PREFIX = 'base_model.model.';

export interface PeftAdapterOptions {
  /** `base_model_name_or_path`: the teacher the adapter belongs to (PeftModel.from_pretrained does not need it) */
  baseModel?: string | null;
}

/** adapter_config.json as PEFT v0.10.0 writes a LoraConfig: all fields, defaults where SwiftBrush leaves them */
export function adapterConfigJson(adapter: LoraAdapter, options: PeftAdapterOptions = {}): string {
  const config = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: options.baseModel ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: adapter.config.alpha,
    lora_dropout: 0,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: adapter.config.rank,
    rank_pattern: {},
    revision: null,
    // PEFT keeps the targets as a set and writes it as a list; sorted here so equal adapters give equal files
    target_modules: [...adapter.config.targets].sort(),
    task_type: null,
    use_dora: false,
    use_rslora: false,
  };
  // PEFT writes no trailing newline
  return pythonJson(config, new Set(['lora_dropout', ...(Number.isInteger(adapter.config.alpha) ? [] : ['lora_alpha'])]));
}

const LORA_PARAM = /^(.*)\.w\.lora_(a|b)$/;

/** the PEFT state dict key of an engine LoRA parameter (`x.to_q.w.lora_a` → `base_model.model.x.to_q.lora_A.weight`) */
export function peftKeyOf(name: string): string {
  const m = LORA_PARAM.exec(name);
  if (m === null) throw new Error(`write peft adapter: ${name} is not a LoRA parameter (<module>.w.lora_a|lora_b)`);
  return `${PEFT_KEY_PREFIX}${m[1]!}.lora_${m[2]!.toUpperCase()}.weight`;
}

/** a LoRA factor channels-last → torch: linear [in, out] → [out, in]; conv [kh, kw, in, out] → [out, in, kh, kw] */
const TORCH_AXES: Record<number, number[]> = { 2: [1, 0], 4: [3, 2, 0, 1] };

export function peftStateDict(adapter: LoraAdapter): Record<string, StreamedTensor> {
  const out: Record<string, StreamedTensor> = {};
  for (const [name, value] of Object.entries(adapter.params)) {
    const axes = TORCH_AXES[value.shape.length];
    if (axes === undefined) throw new Error(`write peft adapter: ${name} has rank ${value.shape.length}`);
    const shape = axes.map((a) => value.shape[a] as number);
    const bytes = (): Uint8Array => {
      const t = tf.tidy(() => tf.transpose(value, axes));
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    };
    out[peftKeyOf(name)] = { dtype: 'F32', shape, bytes };
  }
  return out;
}

/** writes the adapter folder `dir` whole or not at all (built beside it, renamed into place) */
export function writePeftAdapter(dir: string, adapter: LoraAdapter, options: PeftAdapterOptions = {}): void {
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeSafetensorsFile(join(tmp, ADAPTER_WEIGHTS_FILE), peftStateDict(adapter), { format: 'pt' });
    writeFileSync(join(tmp, ADAPTER_CONFIG_FILE), adapterConfigJson(adapter, options));
    publishDir(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
