import * as tf from '@tensorflow/tfjs';
import type { KernelAttrs } from './kernel-calls.js';
import { type KernelSite, asTensor, callKernel, engineSite, freeInfo, scalarInfo, viewAs } from './direct-kernels.js';

// The multi-head attention core (diffusion/unet/blocks.ts attention), from the q, k, v projections [b, len, c] to the
// heads merged again [b, n, c], as ONE engine dispatch and one tape node. The op chain it replaces (reshape and
// transpose per projection, matMul q kᵀ, scale, softmax, matMul by v, transpose, reshape) cost 12 dispatches forward
// and ~20 in its gradient. The kernel runs the very kernels that chain ran, on the same inputs with the same
// attributes, in the same order; reshapes are views. Its gradient runs the kernels tfjs's own gradients of those
// ops run (Transpose, BatchMatMul, Multiply, Sum, Sub). q, k and v each come from their own linear, so each gets a
// single gradient contribution here, as on the chain's tape; the linears' nodes keep their places on the tape, so
// the gradients they pass on sum in the same order. Every bit is the chain's (test/diffusion/attention-kernel.test.ts).

export const ATTENTION = 'VsdlabAttention';

/** [b, len, heads, dh] ↔ [b, heads, len, dh]: the split's transpose, its own inverse */
const HEADS_PERM = { perm: [0, 2, 1, 3] };

type Infos = Record<string, tf.TensorInfo | undefined>;
type KernelArgs = { inputs: Infos; backend: tf.KernelBackend; attrs?: KernelAttrs };

const need = (infos: Infos, name: string): tf.TensorInfo => {
  const info = infos[name];
  if (info === undefined) throw new Error(`${ATTENTION}: input ${name} missing`);
  return info;
};

const headsOf = (attrs: KernelAttrs): number => {
  const h = attrs['heads'];
  if (typeof h !== 'number') throw new Error(`${ATTENTION}: attribute heads missing`);
  return h;
};

interface Dims {
  b: number;
  n: number;
  m: number;
  c: number;
  heads: number;
  dh: number;
}

const dimsOf = (q: tf.TensorInfo, k: tf.TensorInfo, heads: number): Dims => {
  const [b, n, c] = q.shape as [number, number, number];
  const m = k.shape[1] as number;
  return { b, n, m, c, heads, dh: c / heads };
};

/** the chain's tf.mul(scores, 1 / Math.sqrt(dh)) operand: a float32 scalar */
const scaleOf = (site: KernelSite, d: Dims): tf.TensorInfo => scalarInfo(site, 1 / Math.sqrt(d.dh));

/** reshape [b, len, c] → [b, len, heads, dh] (a view), transpose → [b, heads, len, dh] */
const split = (site: KernelSite, t: tf.TensorInfo, len: number, d: Dims): tf.TensorInfo =>
  callKernel(site, tf.Transpose, { x: viewAs(t, [d.b, len, d.heads, d.dh]) }, HEADS_PERM);

/** transpose [b, heads, len, dh] → [b, len, heads, dh], read as [b, len, c] */
const merge = (site: KernelSite, t: tf.TensorInfo, len: number, d: Dims): tf.TensorInfo => {
  const merged = callKernel(site, tf.Transpose, { x: t }, HEADS_PERM);
  return viewAs(merged, [d.b, len, d.c]);
};

const forward = (backendName: string) => (args: KernelArgs): tf.TensorInfo[] => {
  const site: KernelSite = { backend: args.backend, backendName };
  const attrs = args.attrs ?? {};
  const q = need(args.inputs, 'q');
  const k = need(args.inputs, 'k');
  const v = need(args.inputs, 'v');
  const d = dimsOf(q, k, headsOf(attrs));
  const qh = split(site, q, d.n, d);
  const kh = split(site, k, d.m, d);
  const vh = split(site, v, d.m, d);
  const scores = callKernel(site, tf.BatchMatMul, { a: qh, b: kh }, { transposeA: false, transposeB: true });
  const scale = scaleOf(site, d);
  const scaled = callKernel(site, tf.Multiply, { a: scores, b: scale });
  freeInfo(site, scores, scale);
  // tf.softmax's dim: -1 resolved to the last axis
  const weights = callKernel(site, tf.Softmax, { logits: scaled }, { dim: 3 });
  freeInfo(site, scaled);
  const heads = callKernel(site, tf.BatchMatMul, { a: weights, b: vh }, { transposeA: false, transposeB: false });
  const out = merge(site, heads, d.n, d);
  freeInfo(site, heads);
  // the split heads and the softmax weights are outputs only while a gradient is recorded (its saved tensors)
  if (attrs['keepSaved'] === true) return [out, qh, kh, vh, weights];
  freeInfo(site, qh, kh, vh, weights);
  return [out];
};

tf.registerGradient({
  kernelName: ATTENTION,
  outputsToSave: [false, true, true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [qh, kh, vh, weights] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const dOut = Array.isArray(dys) ? dys[0] : dys;
    if (dOut === undefined) throw new Error(`${ATTENTION} gradient called without dy`);
    const site = engineSite();
    const d: Dims = { ...dimsOf(dOut, kh, headsOf(attrs as KernelAttrs)), m: kh.shape[2] as number };
    // the chain's backward, node by node: Reshape's (a view), Transpose's (the inverse perm), then BatchMatMul's for
    // its a (the weights), Softmax's (mul(dy, y); sub(dyTimesY, mul(sum(dyTimesY, [dim], true), y))) and the scale's
    // Multiply's for its a. Computed here, not in a thunk (the engine runs each thunk in its own tidy), and tracked
    // in the backward scope as the chain's intermediate gradients were; v's and k's thunks run only when needed
    const dHeads = asTensor(split(site, viewAs(dOut, [d.b, d.n, d.c]), d.n, d));
    const dWeights = callKernel(site, tf.BatchMatMul, { a: dHeads, b: vh }, { transposeA: false, transposeB: true });
    const dyTimesY = callKernel(site, tf.Multiply, { a: dWeights, b: weights });
    freeInfo(site, dWeights);
    const rowSums = callKernel(site, tf.Sum, { x: dyTimesY }, { axis: [3], keepDims: true });
    const rowTerm = callKernel(site, tf.Multiply, { a: rowSums, b: weights });
    freeInfo(site, rowSums);
    const dScaled = callKernel(site, tf.Sub, { a: dyTimesY, b: rowTerm });
    freeInfo(site, dyTimesY, rowTerm);
    const scale = scaleOf(site, d);
    const dScores = asTensor(callKernel(site, tf.Multiply, { a: dScaled, b: scale }));
    freeInfo(site, dScaled, scale);
    const merged = (t: tf.TensorInfo, len: number): tf.Tensor => {
      const out = merge(site, t, len, d);
      freeInfo(site, t);
      return asTensor(out);
    };
    return {
      // matMul(q, k, false, true)'s gradient: a = matMul(dy, b), b = matMul(dy, a, true, false)
      q: () => merged(callKernel(site, tf.BatchMatMul, { a: dScores, b: kh }, { transposeA: false, transposeB: false }), d.n),
      k: () => merged(callKernel(site, tf.BatchMatMul, { a: dScores, b: qh }, { transposeA: true, transposeB: false }), d.m),
      // matMul(weights, v)'s gradient for its b: matMul(a, dy, true, false)
      v: () => merged(callKernel(site, tf.BatchMatMul, { a: weights, b: dHeads }, { transposeA: true, transposeB: false }), d.m),
    };
  },
});

/** the backends the kernel runs on (any backend with these tfjs kernels would do; these are the ones tested) */
export const ATTENTION_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

export const registerAttentionKernel = (backendName: string): void => {
  if (tf.getKernel(ATTENTION, backendName) === undefined) tf.registerKernel({ kernelName: ATTENTION, backendName, kernelFunc: forward(backendName) as unknown as tf.KernelConfig['kernelFunc'] });
};

/** removes it: attention falls back to the op chain (tests and benchmarks compare the two) */
export const unregisterAttentionKernel = (backendName: string): void => {
  if (tf.getKernel(ATTENTION, backendName) !== undefined) tf.unregisterKernel(ATTENTION, backendName);
};

for (const backendName of ATTENTION_KERNEL_BACKENDS) registerAttentionKernel(backendName);

export const attentionKernelActive = (): boolean => tf.getKernel(ATTENTION, tf.getBackend()) !== undefined;

/** softmax(q kᵀ / √dh) v per head on float32 projections q [b, n, c], k and v [b, m, c], heads merged: [b, n, c] */
export const fusedAttention = (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, heads: number): tf.Tensor3D => {
  const out = tf.engine().runKernel(ATTENTION, { q, k, v }, { heads, keepSaved: tf.engine().isTapeOn() });
  if (!Array.isArray(out)) return out as tf.Tensor3D;
  const [y, ...rest] = out;
  if (y === undefined) throw new Error(`${ATTENTION} returned nothing`);
  // the saved outputs are the gradient's: it keeps its own references
  tf.dispose(rest);
  return y as tf.Tensor3D;
};
