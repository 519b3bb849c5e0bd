import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { tokenizeBatch } from '../data/tokenizer.js';
import { WeightReader, type ParamMap } from '../nn/params.js';
import { BadInputError } from '../errors.js';
import { loadSafetensors } from '../weights/safetensors.js';
import type { ClipSpec } from './networks.js';
import { textTowerForward, type TextTowerSpec } from './text-tower.js';

/** The frozen text encoder of the embedded world: the CLIP text tower's per-token hidden states. */
export interface TextEncoder {
  spec: TextTowerSpec;
  params: ParamMap;
  /** captions → [B, L, D] */
  encode(captions: readonly string[]): tf.Tensor3D;
}

export function textEncoderFrom(spec: TextTowerSpec, params: ParamMap): TextEncoder {
  const ctx = { weights: new WeightReader(params) };
  return {
    spec,
    params,
    encode: (captions) =>
      tf.tidy(() => {
        const ids = tf.tensor2d(tokenizeBatch(captions, spec.length), [captions.length, spec.length], 'int32');
        return textTowerForward(ctx, 'text', ids, spec).hidden;
      }),
  };
}

/** Loads `<dir>/<name>.json` (its `spec`) and `<dir>/<name>.safetensors`, keeping the text tower only. */
export function loadTextEncoder(dir: string, name = 'clip'): TextEncoder {
  let spec: ClipSpec;
  try {
    spec = (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { spec: ClipSpec }).spec;
  } catch (e) {
    throw new BadInputError('TEXT_ENCODER_UNREADABLE', `${join(dir, `${name}.json`)}: cannot read the text encoder description (${(e as Error).message})`);
  }
  const { tensors } = loadSafetensors(join(dir, `${name}.safetensors`));
  const params: ParamMap = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('text.')) params[k] = tf.variable(t, false);
    else t.dispose();
  }
  return textEncoderFrom(spec.text, params);
}
