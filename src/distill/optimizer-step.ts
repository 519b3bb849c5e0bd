import type * as tf from '@tensorflow/tfjs';
import { floatStorage, type FloatStorage } from '../tensor/float-storage.js';
import { emaUpdate, type Adam } from './adam.js';
import { fusedAdamStep, fusedGlobalNorm, type EmaTarget } from './fused-optimizer.js';
import { clipCoefficient, globalNormByOps, scaleGradients } from './objectives.js';

// a training step's gradient clipping, Adam update and EMA: one JS pass per parameter tensor where JS reaches
// the tensors' values (wasm, cpu), else the op sequences (tfjs-node, webgl). both give the same bits; 'ops' forces
// the op sequences everywhere, for the equality tests and the before/after benchmark.

export type OptimizerPath = 'fused' | 'ops';

let path: OptimizerPath = 'fused';

/** chooses how later steps run (process-wide, like the kernel registrations); returns the previous choice */
export const setOptimizerPath = (next: OptimizerPath): OptimizerPath => {
  const previous = path;
  path = next;
  return previous;
};

const storage = (): FloatStorage | undefined => (path === 'fused' ? floatStorage() : undefined);

/** the gradients' global L2 norm, as torch's clip_grad_norm_ computes it in float32 per tensor */
export function gradientNorm(grads: Record<string, tf.Tensor>): number {
  const s = storage();
  return s ? fusedGlobalNorm(s, grads) : globalNormByOps(grads);
}

export interface OptimizerStep {
  adam: Adam;
  params: Record<string, tf.Variable>;
  /** consumed: on the op path a clipped step replaces (and disposes) them */
  grads: Record<string, tf.Tensor>;
  /** the gradients' global norm (gradientNorm) and the clipping threshold */
  norm: number;
  maxNorm: number;
  /** the EMA updated from the new parameters */
  ema?: EmaTarget;
}

/** clips the gradients to `maxNorm`, applies one Adam step, then updates the EMA */
export function optimizerStep(step: OptimizerStep): void {
  const clip = clipCoefficient(step.norm, step.maxNorm);
  const s = storage();
  if (s) {
    fusedAdamStep(step.adam, s, step.params, step.grads, clip, step.ema);
    return;
  }
  step.adam.apply(step.params, clip === undefined ? step.grads : scaleGradients(step.grads, clip));
  if (step.ema) emaUpdate(step.ema.params, step.params, step.ema.decay);
}
