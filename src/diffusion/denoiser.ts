import type * as tf from '@tensorflow/tfjs';
import type { Timesteps } from './parameterization.js';

/**
 * any network as the samplers see it: (x_t, t, cond) ↦ its prediction (ε unless the sampler is told
 * otherwise). t is one integer timestep for the batch, or one per sample. the caller owns the result.
 */
export type DenoiserFn<C> = (xt: tf.Tensor, t: Timesteps, cond: C) => tf.Tensor;

/** the same, computed off the JS thread (ONNX Runtime's session.run is asynchronous); it keeps no tensor it made but the result */
export type AsyncDenoiserFn<C> = (xt: tf.Tensor, t: Timesteps, cond: C) => Promise<tf.Tensor>;
