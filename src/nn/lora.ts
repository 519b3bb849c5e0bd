import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../errors.js';
import type { ParamMap } from './params.js';

// LoRA (Hu et al. 2021) as PEFT applies it: y = x W + (alpha / rank) · (x A) B, A kaiming-uniform, B zero,
// so a fresh adapter changes nothing. SwiftBrush targets to_q and to_v (rank 64, alpha 108 at SD scale).
// A conv weight [k, k, in, out] gets PEFT's conv LoRA: A is a k×k conv to `rank` channels, B a 1×1 conv back.

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** a base linear weight is adapted when its name ends with `.<target>.w` */
  targets: string[];
}

export const SWIFTBRUSH_LORA_TARGETS = ['to_q', 'to_v'];

export interface LoraAdapter {
  config: LoraConfig;
  /** per adapted base weight name: A [in, rank] and B [rank, out] (conv: A [k, k, in, rank], B [1, 1, rank, out]) */
  params: ParamMap;
  /** adapters on by default; off makes every layer compute exactly the base network */
  enabled: boolean;
}

export const loraTargetsOf = (baseParams: ParamMap, config: LoraConfig): string[] =>
  Object.keys(baseParams)
    .filter((name) => config.targets.some((t) => name.endsWith(`.${t}.w`)))
    .sort();

/** creates an adapter for every targeted 2-D weight of a network */
export const initLora = (baseParams: ParamMap, config: LoraConfig, seed: number): LoraAdapter => {
  if (!Number.isInteger(config.rank) || config.rank < 1) throw new Error(`lora rank must be a positive integer, got ${config.rank}`);
  const params: ParamMap = {};
  loraTargetsOf(baseParams, config).forEach((name, i) => {
    const w = baseParams[name];
    if (w === undefined || (w.shape.length !== 2 && w.shape.length !== 4)) throw new Error(`lora target ${name} is neither a linear nor a conv weight`);
    const conv = w.shape.length === 4;
    const fanOut = w.shape[w.shape.length - 1] as number;
    const aShape = conv ? [w.shape[0] as number, w.shape[1] as number, w.shape[2] as number, config.rank] : [w.shape[0] as number, config.rank];
    const fanIn = aShape.slice(0, -1).reduce((p, d) => p * d, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const a = tf.randomUniform(aShape, -bound, bound, 'float32', seed * 104729 + i);
    const b = tf.zeros(conv ? [1, 1, config.rank, fanOut] : [config.rank, fanOut]);
    params[`${name}.lora_a`] = tf.variable(a, true);
    params[`${name}.lora_b`] = tf.variable(b, true);
    tf.dispose([a, b]);
  });
  if (Object.keys(params).length === 0) {
    // the targets come from the experiment (lora_teacher.targets); the network may lack those layers (no attention)
    throw new BadInputError('LORA_NO_TARGET', `no weight of the network matches the LoRA targets ${config.targets.join(', ')}`, 'pick distill.lora_teacher.targets the teacher has (q, k, v, out need attention levels; conv and time every ResBlock)');
  }
  return { config, params, enabled: true };
};

/** A and B of an adapted weight while the adapter is on */
const activePair = (adapter: LoraAdapter | undefined, name: string): [tf.Variable, tf.Variable] | undefined => {
  if (adapter === undefined || !adapter.enabled) return undefined;
  const a = adapter.params[`${name}.lora_a`];
  const b = adapter.params[`${name}.lora_b`];
  return a === undefined || b === undefined ? undefined : [a, b];
};

/** A, B and the scale alpha / rank of an adapted weight while the adapter is on, or undefined (layers.ts's fused kernels) */
export const loraPair = (adapter: LoraAdapter | undefined, name: string): { a: tf.Tensor; b: tf.Tensor; scale: number } | undefined => {
  const [a, b] = activePair(adapter, name) ?? [];
  if (adapter === undefined || a === undefined || b === undefined) return undefined;
  return { a, b, scale: adapter.config.alpha / adapter.config.rank };
};

/** the low-rank update for a base weight, or undefined when the adapter is off or does not target it */
export const loraDelta = (adapter: LoraAdapter | undefined, name: string, x2d: tf.Tensor2D): tf.Tensor2D | undefined => {
  const [a, b] = activePair(adapter, name) ?? [];
  if (adapter === undefined || a === undefined || b === undefined) return undefined;
  return tf.mul(tf.matMul(tf.matMul(x2d, a as tf.Tensor2D), b as tf.Tensor2D), adapter.config.alpha / adapter.config.rank) as tf.Tensor2D;
};

/** the low-rank update of a conv weight (stride and 'same' padding as the base conv), or undefined */
export const loraConvDelta = (adapter: LoraAdapter | undefined, name: string, x: tf.Tensor4D, stride: number): tf.Tensor4D | undefined => {
  const [a, b] = activePair(adapter, name) ?? [];
  if (adapter === undefined || a === undefined || b === undefined) return undefined;
  const down = tf.conv2d(x, a as tf.Tensor4D, stride, 'same');
  return tf.mul(tf.conv2d(down, b as tf.Tensor4D, 1, 'same'), adapter.config.alpha / adapter.config.rank) as tf.Tensor4D;
};

/** runs fn with the adapter switched on or off, restoring its state after (the frozen teacher is the LoRA teacher with adapters off) */
export const withLora = <T>(adapter: LoraAdapter, enabled: boolean, fn: () => T): T => {
  const before = adapter.enabled;
  adapter.enabled = enabled;
  try {
    return fn();
  } finally {
    adapter.enabled = before;
  }
};
