import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { writeShardWorld } from '../helpers/shard-world.js';
import { slurmSkip, slurmUnavailable } from '../helpers/slurm.js';

const unavailable = slurmSkip();

const cli = (args: readonly string[]): Record<string, unknown> => {
  const r = spawnSync(process.execPath, [fromRoot('bin/vsdlab.js'), ...args], { cwd: fromRoot(), encoding: 'utf8', timeout: 240_000, env: { ...process.env, CI: '1' } });
  assert.equal(r.status, 0, `vsdlab ${args.slice(0, 3).join(' ')}: ${r.error?.message ?? ''}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

test('a sharded evaluation as a real sbatch --array job merges to the local pool\'s numbers', { skip: unavailable }, async () => {
  assert.equal(slurmUnavailable(), undefined, 'VSDLAB_REQUIRE_SLURM=1: a Slurm cluster must answer (.ci/slurm-up)');
  const dir = tempDir();
  await writeShardWorld(dir, { images: 24, reference: 20, size: 40 });
  const args = (out: string, executor: string): string[] => [
    'shards', 'run', join(dir, out), '--executor', executor, '--shards', '2',
    '--images', join(dir, 'gen'), '--captions', join(dir, 'captions.txt'), '--inception', join(dir, 'perception.onnx'),
    '--fid-reference', join(dir, 'ref'), '--kid-reference', join(dir, 'ref'), '--kid-subsets', '3', '--kid-subset-size', '8',
    '--clip', join(dir, 'clip'), '--batch-size', '5', '--no-cache', '--json',
  ];
  const pool = cli(args('pool', 'pool'));
  const slurm = cli(args('slurm', 'slurm'));
  assert.deepEqual(slurm, pool);
  // the shards really ran as array tasks: one log per task, each naming its shard
  const logs = readdirSync(join(dir, 'slurm', 'slurm', 'logs')).filter((f) => f.endsWith('.out')).sort();
  assert.equal(logs.length, 2, `task logs: ${logs.join(', ')}`);
  assert.match(readFileSync(join(dir, 'slurm', 'slurm', 'logs', logs[0]!), 'utf8'), /shard 0\/2: done/);
  assert.match(readFileSync(join(dir, 'slurm', 'slurm', 'logs', logs[1]!), 'utf8'), /shard 1\/2: done/);
});
