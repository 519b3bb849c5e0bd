import * as tf from '@tensorflow/tfjs';
import { type JsKernel, type JsKernelBackend, JS_KERNEL_BACKENDS, jsKernelActive, registerJsKernel, unregisterJsKernel } from './js-kernels.js';
import {
  GROUP_NORM,
  GROUP_NORM_GRAD,
  GROUP_NORM_GRAD_GATED,
  LAYER_NORM,
  LAYER_NORM_GRAD,
  groupNormGradGatedKernel,
  groupNormGradKernel,
  groupNormKernel,
  layerNormGradKernel,
  layerNormKernel,
} from './norm-kernels.js';
import { GEGLU, GEGLU_GRAD, SILU, SILU_GRAD, gegluGradKernel, gegluKernel, siluGradKernel, siluKernel } from './activation-kernels.js';

// the element-wise layers of the UNet as single ops with their own gradients: group norm (+ SiLU), layer norm,
// SiLU, GEGLU. on wasm and cpu each is one JS kernel forward and one backward (see norm-kernels.ts); on any
// other backend, or with the kernels unregistered, the op is the plain tfjs composition below, the same math.

/** every fused kernel, forward and gradient */
export const FUSED_KERNELS: readonly JsKernel[] = [
  groupNormKernel,
  groupNormGradKernel,
  groupNormGradGatedKernel,
  layerNormKernel,
  layerNormGradKernel,
  siluKernel,
  siluGradKernel,
  gegluKernel,
  gegluGradKernel,
];

/** torch's GroupNorm / LayerNorm default */
export const NORM_EPS = 1e-5;

const run = (kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] => {
  const out = tf.engine().runKernel(kernelName, inputs, attrs);
  return Array.isArray(out) ? out : [out];
};

const first = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => {
  const t = Array.isArray(dy) ? dy[0] : dy;
  if (t === undefined) throw new Error('fused op gradient called without dy');
  return t;
};

const unpack = <N extends number>(tensors: tf.Tensor[], n: N, what: string): tf.Tensor[] & { length: N } => {
  if (tensors.length !== n || tensors.some((t) => t === undefined)) throw new Error(`${what}: ${n} tensors expected, got ${tensors.length}`);
  return tensors as tf.Tensor[] & { length: N };
};

// the gradients: the forward kernels save their inputs and statistics; each backward is one kernel call
tf.registerGradient({
  kernelName: GROUP_NORM,
  inputsToSave: ['x', 'gamma', 'beta'],
  // mean, rstd and, when the forward kept it, the SiLU gate
  outputsToSave: [false, true, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, beta, mean, rstd, gate] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    if (saved.length < 5 || saved.length > 6) throw new Error(`${GROUP_NORM}: 5 or 6 saved tensors expected, got ${saved.length}`);
    const inputs: tf.NamedTensorMap = { dy: first(dy), x, gamma, beta, mean, rstd };
    if (gate !== undefined) inputs['gate'] = gate;
    const kernel = gate !== undefined ? GROUP_NORM_GRAD_GATED : GROUP_NORM_GRAD;
    const [dx, dgamma, dbeta] = unpack(run(kernel, inputs, attrs), 3, kernel) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});

tf.registerGradient({
  kernelName: LAYER_NORM,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved, attrs) => {
    const [x, gamma, mean, rstd] = unpack(saved, 4, LAYER_NORM) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dx, dgamma, dbeta] = unpack(run(LAYER_NORM_GRAD, { dy: first(dy), x, gamma, mean, rstd }, attrs), 3, LAYER_NORM_GRAD) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
});

tf.registerGradient({
  kernelName: SILU,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = unpack(saved, 1, SILU) as [tf.Tensor];
    const [dx] = unpack(run(SILU_GRAD, { dy: first(dy), x }), 1, SILU_GRAD) as [tf.Tensor];
    return { x: () => dx };
  },
});

tf.registerGradient({
  kernelName: GEGLU,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = unpack(saved, 1, GEGLU) as [tf.Tensor];
    const [dx] = unpack(run(GEGLU_GRAD, { dy: first(dy), x }), 1, GEGLU_GRAD) as [tf.Tensor];
    return { x: () => dx };
  },
});

/** registers the fused kernels on a backend (idempotent) */
export const registerFusedKernels = (backendName: JsKernelBackend): void => {
  for (const k of FUSED_KERNELS) registerJsKernel(k, backendName);
};

/** removes them: the ops fall back to the tfjs composition (tests and benchmarks compare the two) */
export const unregisterFusedKernels = (backendName: JsKernelBackend): void => {
  for (const k of FUSED_KERNELS) unregisterJsKernel(k, backendName);
};

export const fusedKernelsRegistered = (backendName: string): boolean => FUSED_KERNELS.every((k) => tf.getKernel(k.name, backendName) !== undefined);

// on by default wherever JS reaches the tensors' memory
for (const backendName of JS_KERNEL_BACKENDS) registerFusedKernels(backendName);

// ------------------------------------------------------------------------------------------- the reference compositions

/** group norm as tfjs ops (moments over positions and the group's channels), optionally followed by SiLU */
export const groupNormReference = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, options: { eps?: number; silu?: boolean } = {}): tf.Tensor =>
  tf.tidy(() => {
    const rank = x.shape.length;
    const c = x.shape[rank - 1] ?? 1;
    // [B, ..., G, C/G], statistics over every axis but the batch and the group (for NHWC: axes 1, 2, 4)
    const grouped = x.reshape([...x.shape.slice(0, -1), groups, c / groups]);
    const axes = [...Array.from({ length: rank - 2 }, (_, i) => i + 1), rank];
    const { mean, variance } = tf.moments(grouped, axes, true);
    const normed = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, options.eps ?? NORM_EPS))).reshape(x.shape);
    const y = tf.add(tf.mul(normed, gamma), beta);
    return options.silu === true ? siluReference(y) : y;
  });

export const layerNormReference = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = NORM_EPS): tf.Tensor =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, gamma), beta);
  });

export const siluReference = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** GELU, tanh approximation */
export const geluReference = (x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.square(x)))))))));

export const gegluReference = (x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const [value, gate] = tf.split(x, 2, -1);
    if (value === undefined || gate === undefined) throw new Error('geglu: split failed');
    return tf.mul(value, geluReference(gate));
  });

// ------------------------------------------------------------------------------------------- the ops

/** the kernel's statistics outputs are only for the gradient, which keeps its own references */
const onlyFirst = (outs: tf.Tensor[]): tf.Tensor => {
  const [y, ...rest] = outs;
  if (y === undefined) throw new Error('fused kernel returned nothing');
  tf.dispose(rest);
  return y;
};

/**
 * group normalisation of channels-last x [B, ..., C] over the positions and the channels of each of `groups`
 * groups, then γ·x̂ + β, then SiLU when `silu` (ResBlock's GN → SiLU). torch GroupNorm semantics (biased
 * variance, eps 1e-5 unless given).
 */
export const groupNorm = <T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, groups: number, options: { eps?: number; silu?: boolean } = {}): T => {
  const eps = options.eps ?? NORM_EPS;
  const silu = options.silu === true;
  if (!jsKernelActive(groupNormKernel) || x.dtype !== 'float32') return groupNormReference(x, gamma, beta, groups, { eps, silu }) as T;
  // while a gradient is being recorded the forward keeps σ(z) for the backward (one tensor like x)
  const keepGate = silu && tf.engine().isTapeOn();
  return onlyFirst(run(GROUP_NORM, { x, gamma, beta }, { groups, eps, silu, keepGate })) as T;
};

/** layer normalisation over the last axis, then γ·x̂ + β (torch LayerNorm semantics) */
export const layerNorm = <T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps = NORM_EPS): T => {
  if (!jsKernelActive(layerNormKernel) || x.dtype !== 'float32') return layerNormReference(x, gamma, beta, eps) as T;
  return onlyFirst(run(LAYER_NORM, { x, gamma, beta }, { eps })) as T;
};

/** x·σ(x) */
export const silu = <T extends tf.Tensor>(x: T): T => {
  if (!jsKernelActive(siluKernel) || x.dtype !== 'float32') return siluReference(x) as T;
  return onlyFirst(run(SILU, { x })) as T;
};

/** x [..., 2D] = [value | gate] → value · gelu_tanh(gate), [..., D] (SD's GEGLU feed-forward) */
export const geglu = (x: tf.Tensor): tf.Tensor => {
  if (!jsKernelActive(gegluKernel) || x.dtype !== 'float32') return gegluReference(x);
  return onlyFirst(run(GEGLU, { x }));
};
