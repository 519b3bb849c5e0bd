import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { runPool } from '../../src/exec/local-pool.js';
import { slurmScript } from '../../src/exec/slurm.js';
import type { Reporter } from '../../src/exec/reporter.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { experimentStatus } from '../../src/tracking/status.js';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { journalLines } from '../helpers/test-stages.js';
import { WORKER_RECYCLE_EXIT } from '../../src/cli/exit-codes.js';

// assets point inside the test's own folder: the repo's data/ may be rebuilt by a concurrent test, and a cell's
// id follows its assets' content
const EXP = 'name: pool\nbase:\n  teacher: { model: no-teacher }\n  distill: { prompts: no-prompts.txt }\nmatrix:\n  distill.student.parameterization: [eps, x0, v]\nseeds: [0, 1]\n';

test('a local pool of 3 workers completes every cell once and reports each cell once', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const storeDir = join(dir, 'runs');
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const ended: string[] = [];
  let progress = 0;
  const reporter: Reporter = { onCellEnd: (s) => ended.push(`${s.cell.slug} ${s.outcome}`), onProgress: () => progress++ };
  const worker = fromRoot('dist/test/helpers/run-with-test-stages.js');
  const summaries = await runPool(plan, plan.cells, {
    recycleExitCode: WORKER_RECYCLE_EXIT,
    jobs: 3,
    workerArgv: () => [worker, join(dir, 'exp.yaml'), storeDir, journal, '3', '20', 'json'],
    reporter,
  });
  assert.deepEqual(summaries.map((s) => s.outcome), Array(6).fill('completed'));
  assert.equal(ended.length, 6, ended.join(', '));
  assert.ok(progress > 0, 'progress forwarded from the workers');
  const lines = journalLines(journal);
  assert.equal(lines.length, 18);
  assert.equal(new Set(lines).size, 18);
  assert.ok(experimentStatus(plan, new RunStore(storeDir)).every((r) => r.state === 'completed'));
});

test('pool workers that stop after their share of cells are replaced until every cell is done once', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const worker = fromRoot('dist/test/helpers/run-with-test-stages.js');
  const summaries = await runPool(plan, plan.cells, {
    recycleExitCode: WORKER_RECYCLE_EXIT,
    jobs: 2,
    workerArgv: () => [worker, join(dir, 'exp.yaml'), join(dir, 'runs'), journal, '2', '10', 'json', '1'],
    reporter: {},
  });
  assert.deepEqual(summaries.map((s) => s.outcome), Array(6).fill('completed'));
  const lines = readFileSync(journal, 'utf8').trim().split('\n');
  assert.equal(new Set(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).size, lines.length, 'no stage ran twice');
  assert.equal(new Set(lines.map((l) => l.split(' ')[2])).size, 6, 'one process per cell');
});

test('replacement workers do not retry a cell that failed earlier in the pool run, so failing cells cannot keep the pool alive', { timeout: 60_000 }, async () => {
  const dir = tempDir({ 'exp.yaml': EXP, fail: '' });
  const journal = join(dir, 'journal');
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const worker = fromRoot('dist/test/helpers/run-with-test-stages.js');
  const started = new Date().toISOString();
  const summaries = await runPool(plan, plan.cells, {
    recycleExitCode: WORKER_RECYCLE_EXIT,
    jobs: 2,
    workerArgv: () => [worker, join(dir, 'exp.yaml'), join(dir, 'runs'), journal, '1', '0', 'json', '1', join(dir, 'fail'), started],
    reporter: {},
  });
  assert.deepEqual(summaries.map((s) => s.outcome), Array(6).fill('failed'));
  const evaluations = journalLines(journal).filter((l) => l.startsWith('evaluate '));
  assert.equal(evaluations.length, 6, evaluations.join(', '));
  assert.equal(new Set(evaluations).size, 6, 'each cell failed once');
});

test('the Slurm array script runs one task per cell with the same store and overrides', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const { script, cellsList } = slurmScript(plan, plan.cells.slice(0, 4), {
    dir: join(dir, 'slurm'),
    runArgv: ['node', 'bin/vsdlab.js', 'run', '/x/exp.yaml', '--store', '/x/runs', '--set', 'generate.guidance_scale=2'],
    gpus: 1,
    time: '08:00:00',
    maxParallel: 2,
    extra: ['--account=lab'],
  });
  assert.match(script, /^#SBATCH --array=0-3%2$/m);
  assert.match(script, /^#SBATCH --gres=gpu:1$/m);
  assert.match(script, /^#SBATCH --time=08:00:00$/m);
  assert.match(script, /^#SBATCH --account=lab$/m);
  assert.match(script, /--set generate\.guidance_scale=2 --only "\$cell"/);
  assert.deepEqual(cellsList.trim().split('\n'), plan.cells.slice(0, 4).map((c) => c.name));
});

test('vsdlab run --executor slurm submits the cells that are not complete, and each array task runs its cell', () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const bin = join(dir, 'bin');
  // a stand-in sbatch: runs every array task here, in order, as Slurm would on its nodes
  writeFileSync(
    join(dir, 'sbatch'),
    `#!/usr/bin/env bash
script="\${@: -1}"
range=$(sed -n 's/^#SBATCH --array=0-\\([0-9]*\\).*/\\1/p' "$script")
for i in $(seq 0 "$range"); do SLURM_ARRAY_TASK_ID=$i bash "$script" > "${dir}/task-$i.log" 2>&1 || true; done
echo 4242
`,
  );
  chmodSync(join(dir, 'sbatch'), 0o755);
  void bin;
  const store = join(dir, 'runs');
  const dry = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store, '--executor', 'slurm', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /wrote 6 cells: .*array\.sbatch \(not submitted: --dry-run\)/);
  const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store, '--executor', 'slurm', '--only', 'eps-s0', 'v-s1'], { env: { PATH: `${dir}:${process.env.PATH ?? ''}` } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /submitted Slurm array job 4242 \(2 cells/);
  const status = JSON.parse(vsdlab(['status', join(dir, 'exp.yaml'), '--store', store, '--json']).stdout).cells as Array<{ name: string; state: string }>;
  const touched = status.filter((c) => c.state !== 'pending').map((c) => c.name.replace(/-[0-9a-f]{8}$/, ''));
  assert.deepEqual(touched.sort(), ['eps-s0', 'v-s1'], 'each array task ran exactly its own cell');
  assert.match(readFileSync(join(dir, 'task-0.log'), 'utf8'), /eps-s0/);
});

test('vsdlab run --executor slurm with every selected cell complete exits 0 and says there is nothing to submit', async () => {
  const dir = tempDir({ 'exp.yaml': EXP, 'bin/sbatch': '#!/usr/bin/env bash\necho "sbatch must not be called" >&2\nexit 1\n' });
  chmodSync(join(dir, 'bin', 'sbatch'), 0o755);
  const store = new RunStore(join(dir, 'runs'));
  const plan = await planExperiment(join(dir, 'exp.yaml'));
  const done = plan.cells.find((c) => c.slug === 'eps-s0');
  assert.ok(done);
  const now = new Date().toISOString();
  await store.writeStatus(store.runDir(plan.experiment, done), { state: 'completed', stage: null, progress: null, heartbeat: now, started: now, ended: now, attempts: 1, pid: 1, host: 'h', error: null });
  const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store.root, '--executor', 'slurm', '--only', 'eps-s0'], { env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pool: every cell is complete; nothing to submit/);
  assert.doesNotMatch(r.stderr, /sbatch must not be called|internal error/);
  assert.equal(existsSync(join(store.experimentDir(plan.experiment), 'slurm', 'array.sbatch')), false, 'no script for zero cells');
});
