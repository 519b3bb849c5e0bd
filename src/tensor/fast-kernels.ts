import * as tf from '@tensorflow/tfjs';
import { type KernelCall, captureKernel } from './kernel-calls.js';
import { routeMatMul, routeTransposedMatMul } from './fast-matmul.js';
import { conv2dFilterGradViaForward, conv2dInputGradViaForward } from './fast-conv2d.js';
import { installDirectSaves, sharedIdentity, sharedSameTypeCast, uninstallDirectSaves } from './zero-copy.js';
import { heapTile } from './fast-tile.js';
import { heapConcat, heapSplitV } from './heap-concat-split.js';
import { heapColumnSum } from './heap-column-sum.js';

// kernel-level replacement makes routing transparent: tf.matMul(a, b, true), every built-in gradient,
// tf.conv2dTranspose and fused ops all land on the fast forward kernels without model code knowing.
// the fused element-wise ops (fused-ops.ts) are new kernels, registered on import, not replacements.

/** the kernels this module replaces (or adds, for Conv2DBackpropFilter which wasm lacks) */
export const ROUTED_KERNELS = [tf.BatchMatMul, tf._FusedMatMul, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.Identity, tf.Cast, tf.Tile, tf.Concat, tf.SplitV, tf.Sum] as const;

/** the copy kernels (and Sum, whose transpose copy it skips) that `shareSavedTensors: false` leaves as tfjs has them */
const COPY_KERNELS: ReadonlySet<string> = new Set([tf.Identity, tf.Cast, tf.Tile, tf.Concat, tf.SplitV, tf.Sum]);

type RawKernelFunc = tf.KernelConfig['kernelFunc'];

interface Saved {
  original: tf.KernelConfig | undefined;
}

const saved = new Map<string, Map<string, Saved>>();

const toKernelFunc = (call: KernelCall): RawKernelFunc =>
  ((args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs?: Record<string, unknown> }) =>
    call(args.inputs, args.attrs ?? {}, args.backend)) as unknown as RawKernelFunc;

const replace = (kernelName: string, backendName: string, routed: KernelCall): void => {
  const original = tf.getKernel(kernelName, backendName);
  const byBackend = saved.get(backendName) ?? new Map<string, Saved>();
  saved.set(backendName, byBackend);
  byBackend.set(kernelName, { original });
  if (original !== undefined) tf.unregisterKernel(kernelName, backendName);
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc: toKernelFunc(routed) };
  // the original's setup (wasm cwrap binding) must still run when the backend initialises after us
  if (original?.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  if (original?.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
};

/** whether the fast kernels are currently registered for a backend */
export const fastKernelsRegistered = (backendName = 'wasm'): boolean => saved.has(backendName);

export interface FastKernelOptions {
  /**
   * Identity and same-type Cast share memory instead of copying, Tile, Concat and SplitV copy blocks, Sum over leading
   * axes skips its transpose (default on; off leaves tfjs's kernels, as before the fused element-wise work,
   * for benchmarks)
   */
  shareSavedTensors?: boolean;
}

/**
 * routes transposed matMuls and both conv2d gradients of `backendName` through its forward kernels.
 * idempotent; returns the names of the kernels that are routed.
 */
export const registerFastKernels = (backendName = 'wasm', options: FastKernelOptions = {}): string[] => {
  const routed = options.shareSavedTensors === false ? ROUTED_KERNELS.filter((k) => !COPY_KERNELS.has(k)) : [...ROUTED_KERNELS];
  if (saved.has(backendName)) return routed;
  const originals = new Map<string, KernelCall | undefined>();
  for (const name of ROUTED_KERNELS) originals.set(name, captureKernel(name, backendName));
  const need = (name: string): KernelCall => {
    const call = originals.get(name);
    if (call === undefined) throw new Error(`backend ${backendName} has no ${name} kernel to route`);
    return call;
  };
  replace(tf.BatchMatMul, backendName, routeMatMul(need(tf.BatchMatMul), backendName));
  replace(tf._FusedMatMul, backendName, routeTransposedMatMul(need(tf._FusedMatMul), backendName));
  replace(tf.Conv2DBackpropInput, backendName, conv2dInputGradViaForward(backendName, originals.get(tf.Conv2DBackpropInput)));
  replace(tf.Conv2DBackpropFilter, backendName, conv2dFilterGradViaForward(backendName, originals.get(tf.Conv2DBackpropFilter)));
  // the gradient tape's saved copies (Identity) and their gradients (same-type Cast) share memory instead
  if (options.shareSavedTensors !== false) {
    replace(tf.Identity, backendName, sharedIdentity(need(tf.Identity)));
    replace(tf.Cast, backendName, sharedSameTypeCast(need(tf.Cast)));
    // and the engine's saves reach that Identity without runKernel's bookkeeping (engine-wide, on while any
    // backend has its fast kernels)
    installDirectSaves(tf);
    // broadcasts (the null text for guidance) as block copies
    replace(tf.Tile, backendName, heapTile(need(tf.Tile)));
    // the skip connections' channel concats and their gradients as row copies
    replace(tf.Concat, backendName, heapConcat(need(tf.Concat)));
    const splitV = tf.getKernel(tf.SplitV, backendName);
    if (splitV === undefined) throw new Error(`backend ${backendName} has no ${tf.SplitV} kernel to route`);
    const rawSplitV = splitV.kernelFunc as unknown as (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, unknown> }) => tf.TensorInfo[];
    const routedSplitV = heapSplitV((inputs, attrs, backend) => rawSplitV({ inputs, attrs, backend }));
    replace(tf.SplitV, backendName, routedSplitV as unknown as KernelCall);
    // bias gradients (sums over leading axes) without the transpose wasm's Sum makes first
    replace(tf.Sum, backendName, heapColumnSum(need(tf.Sum)));
  }
  return routed;
};

/** puts the original kernels back (benchmarks compare before/after; tests compare against the originals) */
export const unregisterFastKernels = (backendName = 'wasm'): void => {
  const byBackend = saved.get(backendName);
  if (byBackend === undefined) return;
  for (const [kernelName, { original }] of byBackend) {
    tf.unregisterKernel(kernelName, backendName);
    if (original !== undefined) tf.registerKernel(original);
  }
  saved.delete(backendName);
  if (saved.size === 0) uninstallDirectSaves(tf);
};
