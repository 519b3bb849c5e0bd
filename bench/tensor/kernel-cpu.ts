// exclusive process CPU time per kernel: every kernel registered for a backend is wrapped while recording.
// tf.profile reports wall time, which on a shared machine mostly measures the neighbours, and counts a kernel
// that calls other kernels (the routed ones, custom ops) together with them; here a kernel's time excludes the
// kernels it calls through the registry.
import * as tf from '@tensorflow/tfjs';

export interface KernelCpu {
  /** exclusive CPU ms and calls, by kernel name */
  byKernel: Map<string, { ms: number; calls: number }>;
  /** CPU ms while recording, kernels and everything between them */
  totalMs: number;
}

export interface KernelCpuRecorder {
  /** starts (or resumes) counting */
  resume(): void;
  pause(): void;
  /** stops, puts the original kernels back and returns what was counted */
  stop(): KernelCpu;
}

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

type RawKernelFunc = (args: { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs?: Record<string, unknown> }) => tf.TensorInfo | tf.TensorInfo[];

/** wraps every kernel of `backendName`; counting starts paused */
export const recordKernelCpu = (backendName: string): KernelCpuRecorder => {
  const byKernel = new Map<string, { ms: number; calls: number }>();
  // time spent in kernels called by the kernel on top of the stack
  const childMs: number[] = [];
  let recording = false;
  let totalMs = 0;
  let since = 0;
  const originals = tf.getKernelsForBackend(backendName);
  for (const config of originals) {
    const inner = config.kernelFunc as unknown as RawKernelFunc;
    const timed: RawKernelFunc = (args) => {
      if (!recording) return inner(args);
      const t0 = cpuMs();
      childMs.push(0);
      try {
        return inner(args);
      } finally {
        const elapsed = cpuMs() - t0;
        const nested = childMs.pop() ?? 0;
        if (childMs.length > 0) childMs[childMs.length - 1] = (childMs[childMs.length - 1] ?? 0) + elapsed;
        const e = byKernel.get(config.kernelName) ?? { ms: 0, calls: 0 };
        e.ms += elapsed - nested;
        e.calls += 1;
        byKernel.set(config.kernelName, e);
      }
    };
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc: timed as unknown as tf.KernelConfig['kernelFunc'] });
  }
  const pause = (): void => {
    if (recording) totalMs += cpuMs() - since;
    recording = false;
  };
  return {
    resume: () => {
      if (!recording) since = cpuMs();
      recording = true;
    },
    pause,
    stop: () => {
      pause();
      for (const config of originals) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
      return { byKernel, totalMs };
    },
  };
};

/** "name ms (share%)" for the largest kernels, and the time outside kernels; ms divided by `per` (e.g. steps) */
export const formatKernelCpu = (k: KernelCpu, per = 1, top = 14): string => {
  let inKernels = 0;
  for (const e of k.byKernel.values()) inKernels += e.ms;
  const rows = [...k.byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  const share = (ms: number): string => `${((100 * ms) / k.totalMs).toFixed(1)}%`;
  return [
    ...rows.map(([name, e]) => `${name} ${(e.ms / per).toFixed(1)} ms ${share(e.ms)} (${Math.round(e.calls / per)} calls)`),
    `outside kernels (engine, tape, JS) ${((k.totalMs - inKernels) / per).toFixed(1)} ms ${share(k.totalMs - inKernels)}`,
  ].join('\n  ');
};
