// Two things tfjs's gradient tape does not offer publicly, which gradient checkpointing needs: running ops with the
// tape paused (as the engine pauses it inside every kernel), and computing a gradient inside another gradient's
// backward pass. Both touch the engine's typed `state` (tfjs-core 4.x: activeTape, gradientDepth, kernelDepth).
import * as tf from '@tensorflow/tfjs';

/** runs fn with the gradient tape paused: nothing fn computes is recorded or kept for a backward pass */
export function untaped<T>(fn: () => T): T {
  const state = tf.engine().state;
  // isTapeOn() is gradientDepth > 0 && kernelDepth === 0: the engine raises kernelDepth around each kernel, so do we
  state.kernelDepth++;
  try {
    return fn();
  } finally {
    state.kernelDepth--;
  }
}

/**
 * the gradients of y = f() with respect to xs, seeded with dy, computed while another gradient's backward pass is
 * running (inside a customGrad gradFunc). tfjs's gradients() starts a fresh tape when no forward is being recorded
 * and drops the engine's tape reference when it ends, which the outer backward still needs to release its saved
 * tensors: the outer tape is put back. An x that y does not depend on gets zeros.
 */
export function gradientsInBackward(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine();
  const state = engine.state;
  if (state.gradientDepth !== 0) {
    // inside a forward being recorded (second-order gradients), gradients() would append to that tape instead
    throw new Error('gradientsInBackward: called while a gradient tape is recording (higher-order gradients of a checkpointed segment are unsupported)');
  }
  const outerTape = state.activeTape;
  try {
    return tf.tidy(() => {
      const { grads } = engine.gradients(f, xs, dy, true);
      return xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
    });
  } finally {
    state.activeTape = outerTape;
  }
}

/**
 * the bytes the gradient tape being recorded keeps for its backward pass: every tensor a recorded op saved, counted
 * once per buffer (clones and reshapes share one), without `exclude` (e.g. the weights, which live anyway) and
 * without scalars. Call it inside the function a gradient is taken of, after its forward.
 */
export function tapeSavedBytes(exclude: ReadonlySet<tf.DataId> = new Set()): number {
  const tape = tf.engine().state.activeTape;
  if (tape === null || tape === undefined) return 0;
  const seen = new Set<tf.DataId>();
  let bytes = 0;
  for (const node of tape) {
    for (const t of node.saved ?? []) {
      if (t.rank === 0 || exclude.has(t.dataId) || seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      bytes += t.size * (t.dtype === 'bool' ? 1 : 4);
    }
  }
  return bytes;
}
