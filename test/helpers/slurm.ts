import { spawnSync } from 'node:child_process';

/**
 * Why a test that submits to real Slurm cannot run here, or undefined when a cluster answers with a usable node.
 * Tests pass it as `skip`, so the TAP line says why (`# SKIP sinfo failed: ...`): never a silent pass.
 */
export function slurmUnavailable(): string | undefined {
  for (const tool of ['sbatch', 'sinfo']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not on PATH (run .ci/slurm-up to install and start a one-node cluster)`;
  }
  const info = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 10_000 });
  if (info.status !== 0) return `sinfo failed: ${(info.stderr || info.error?.message || '').trim().split('\n')[0]} (is slurmctld running? .ci/slurm-up)`;
  if (!/^(idle|mixed|allocated)/m.test(info.stdout)) return `no usable Slurm node (sinfo: ${info.stdout.trim() || 'none'}; .ci/slurm-up)`;
  return undefined;
}

/**
 * A Slurm test's `skip`: why it cannot run here, or false. With VSDLAB_REQUIRE_SLURM=1 (set by .ci/run, which starts
 * the cluster) it is never skipped: the test runs, asserts `slurmUnavailable()` is undefined, and fails when it is not.
 */
export function slurmSkip(): string | false {
  const why = slurmUnavailable();
  return why !== undefined && process.env['VSDLAB_REQUIRE_SLURM'] !== '1' ? why : false;
}
