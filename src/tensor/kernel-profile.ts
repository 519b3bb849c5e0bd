// VSDLAB_PROFILE=1: exclusive process CPU time and calls per tfjs kernel, for the whole process, read as
// cumulative snapshots (the run loop takes one before and after each stage). CPU time rather than wall time:
// on a shared machine wall time mostly measures the neighbours. A kernel's time excludes the kernels it calls
// through the registry (routed and fused kernels call others), so the per-kernel times add up. The timer costs
// ≈ 1 µs per call (two process.cpuUsage() reads), about a tenth of a VSD step's ≈ 10 µs per kernel.
import * as tf from '@tensorflow/tfjs';

export interface KernelTime {
  ms: number;
  calls: number;
}

/** cumulative since the profile was installed */
export interface KernelProfileSnapshot {
  byKernel: Record<string, KernelTime>;
}

export const kernelProfileRequested = (): boolean => process.env.VSDLAB_PROFILE === '1';

type RawKernelFunc = (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs?: Record<string, unknown> }) => tf.TensorInfo | tf.TensorInfo[];

const byKernel = new Map<string, KernelTime>();
// CPU ms spent in kernels called by each kernel on the stack
const childMs: number[] = [];
const wrappers = new WeakSet<object>();

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const timed = (kernelName: string, inner: RawKernelFunc): RawKernelFunc => {
  const wrapper: RawKernelFunc = (args) => {
    const t0 = cpuMs();
    childMs.push(0);
    try {
      return inner(args);
    } finally {
      const elapsed = cpuMs() - t0;
      const nested = childMs.pop() ?? 0;
      if (childMs.length > 0) childMs[childMs.length - 1]! += elapsed;
      const e = byKernel.get(kernelName) ?? { ms: 0, calls: 0 };
      e.ms += elapsed - nested;
      e.calls += 1;
      byKernel.set(kernelName, e);
    }
  };
  wrappers.add(wrapper);
  return wrapper;
};

/**
 * wraps every kernel registered for `backendName` that is not wrapped yet (idempotent: call it after a
 * backend and its routed kernels are set up; kernels registered later are wrapped by the next call)
 */
export function profileKernels(backendName: string): void {
  for (const config of tf.getKernelsForBackend(backendName)) {
    const inner = config.kernelFunc as unknown as RawKernelFunc;
    if (wrappers.has(inner)) continue;
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc: timed(config.kernelName, inner) as unknown as tf.KernelConfig['kernelFunc'] });
  }
}

export function kernelProfileSnapshot(): KernelProfileSnapshot {
  return { byKernel: Object.fromEntries([...byKernel].map(([k, v]) => [k, { ...v }])) };
}

/** what ran between two snapshots */
export function kernelProfileSince(before: KernelProfileSnapshot, after: KernelProfileSnapshot = kernelProfileSnapshot()): Record<string, KernelTime> {
  const out: Record<string, KernelTime> = {};
  for (const [name, t] of Object.entries(after.byKernel)) {
    const b = before.byKernel[name];
    const calls = t.calls - (b?.calls ?? 0);
    if (calls > 0) out[name] = { ms: t.ms - (b?.ms ?? 0), calls };
  }
  return out;
}
