// VSDLAB_PROFILE=1: what one stage cost, written beside the cell (<run dir>/profile/<stage>.json) for
// scripts/profile-study.js: wall and process CPU seconds, and CPU ms and calls per tfjs kernel (the rest of
// the CPU time is outside kernels: the tfjs engine and tape, JS, onnxruntime, image coding, I/O).
import { join } from 'node:path';
import { writeJsonAtomically } from '../util/atomic-write.js';

export interface StageProfile {
  /** writes the stage's profile file */
  finish(): Promise<void>;
}

const requested = (): boolean => process.env.VSDLAB_PROFILE === '1';

/** undefined unless VSDLAB_PROFILE=1; tfjs loads only then (the stage loads it anyway) */
export async function startStageProfile(runDir: string, stage: string): Promise<StageProfile | undefined> {
  if (!requested()) return undefined;
  const kernels = await import('../tensor/kernel-profile.js');
  const before = kernels.kernelProfileSnapshot();
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return {
    async finish() {
      const used = process.cpuUsage(cpu);
      const byKernel = kernels.kernelProfileSince(before);
      const kernelMs = Object.values(byKernel).reduce((s, k) => s + k.ms, 0);
      const cpuSeconds = (used.user + used.system) / 1e6;
      await writeJsonAtomically(join(runDir, 'profile', `${stage}.json`), {
        stage,
        pid: process.pid,
        seconds: (performance.now() - wall) / 1000,
        cpu_seconds: cpuSeconds,
        kernel_cpu_seconds: kernelMs / 1000,
        outside_kernels_cpu_seconds: cpuSeconds - kernelMs / 1000,
        kernels: Object.fromEntries(Object.entries(byKernel).sort((a, b) => b[1].ms - a[1].ms)),
      });
    },
  };
}
