// One cell per GPU: `vsdlab run --gpus 0,1` starts one local worker per GPU, each seeing only its own through
// CUDA_VISIBLE_DEVICES (a replacement worker keeps its slot's GPU); Slurm array tasks get theirs from --gres.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseGpuList, workersForGpus } from '../../src/exec/gpu-list.js';
import { splitAmongWorkers } from '../../src/exec/local-workers.js';
import { runPool } from '../../src/exec/local-pool.js';
import { planExperiment } from '../../src/plan/plan.js';
import { BadInputError } from '../../src/errors.js';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const EXP = 'name: gpus\nbase:\n  teacher: { model: no-teacher }\n  distill: { prompts: no-prompts.txt }\nmatrix:\n  distill.student.parameterization: [eps, x0, v]\n';
const command = ['vsdlab.js', 'run', '/abs/exp.yaml', '--store', '/abs/runs'];

test('--gpus: indices and UUIDs, one worker each; malformed, repeated or disagreeing with -j is a usage error', () => {
  assert.deepEqual(parseGpuList('0,1, 3'), ['0', '1', '3']);
  assert.deepEqual(parseGpuList('GPU-5e1c2f3a-0b1c-4d2e-9f00-123456789abc,MIG-GPU-5e1c2f3a/1/0'), ['GPU-5e1c2f3a-0b1c-4d2e-9f00-123456789abc', 'MIG-GPU-5e1c2f3a/1/0']);
  for (const bad of ['', '0,,1', 'gpu0', '0;1', '1,1']) assert.throws(() => parseGpuList(bad), BadInputError, bad);
  assert.equal(workersForGpus(['0', '1', '2'], 1), 3);
  assert.equal(workersForGpus(['0', '1', '2'], 3), 3);
  assert.throws(() => workersForGpus(['0', '1'], 4), /--jobs 4 with --gpus listing 2 GPUs/);
});

test('worker w gets CUDA_VISIBLE_DEVICES = gpus[w], with and without --force; no GPU list, no variable', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const shared = splitAmongWorkers(plan.cells, { command, jobs: 2, cellsPerWorker: 3, force: false, gpus: ['4', '7'] }, 'T');
  assert.deepEqual([0, 1].map((w) => shared.env(w)), [{ CUDA_VISIBLE_DEVICES: '4' }, { CUDA_VISIBLE_DEVICES: '7' }]);
  const forced = splitAmongWorkers(plan.cells, { command, jobs: 2, cellsPerWorker: 3, force: true, gpus: ['4', '7'] }, 'T');
  assert.equal(forced.jobs, 2);
  assert.deepEqual(forced.env(1), { CUDA_VISIBLE_DEVICES: '7' });
  assert.deepEqual(splitAmongWorkers(plan.cells, { command, jobs: 2, cellsPerWorker: 3, force: false }, 'T').env(0), {});
});

test('the pool starts each worker, and its replacement, with its own environment', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const cells = plan.cells.slice(0, 2);
  // a stand-in worker: reports cell w as completed with its CUDA_VISIBLE_DEVICES as the run dir; the first start of
  // worker 0 asks to be replaced (exit 76), so its replacement reports too
  const script = (w: number): string =>
    `const marker = require('node:path').join(${JSON.stringify(dir)}, 'started-' + ${w});
     const again = require('node:fs').existsSync(marker); require('node:fs').writeFileSync(marker, '');
     console.log(JSON.stringify({ event: 'cell-end', time: 't', cell: ${JSON.stringify(cells[w]!.name)}, outcome: 'completed', run_dir: process.env.CUDA_VISIBLE_DEVICES + (again ? ' again' : ''), seconds: 0 }));
     process.exit(${w} === 0 && !again ? 76 : 0);`;
  const summaries = await runPool(plan, cells, { jobs: 2, workerArgv: (w) => ['-e', script(w)], workerEnv: (w) => ({ CUDA_VISIBLE_DEVICES: ['3', '5'][w]! }), recycleExitCode: 76, reporter: {} });
  assert.deepEqual(summaries.map((s) => s.runDir), ['3', '5']);
});

test('vsdlab run --gpus with the Slurm executor is refused: Slurm gives each array task its GPU', () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'runs'), '--executor', 'slurm', '--gpus', '0,1', '--dry-run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--gpus assigns local GPUs; a Slurm array task gets its GPU from Slurm/);
});
