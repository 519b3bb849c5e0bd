import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { splitAmongWorkers } from '../../src/exec/local-workers.js';
import { tempDir } from '../helpers/temp.js';

const EXP = 'name: split\nbase:\n  teacher: { model: no-teacher }\n  distill: { prompts: no-prompts.txt }\nmatrix:\n  distill.student.parameterization: [eps, x0, v]\nseeds: [0, 1]\n';
const command = ['vsdlab.js', 'run', '/abs/exp.yaml', '--store', '/abs/runs'];

test('without --force every worker is given the whole plan, recycled after its share of cells', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const split = splitAmongWorkers(plan.cells, { command, jobs: 4, cellsPerWorker: 3, force: false, only: ['a', 'b'] }, 'T');
  assert.equal(split.jobs, 4);
  for (const w of [0, 3]) assert.deepEqual(split.argv(w), [...command, '--only', 'a', 'b', '--max-cells', '3', '--failed-since', 'T', '--reporter', 'json']);
});

test('with --force each worker gets its own round-robin share and no more workers than cells', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const names = plan.cells.map((c) => c.name);
  const four = splitAmongWorkers(plan.cells, { command, jobs: 4, cellsPerWorker: 3, force: true }, 'T');
  assert.equal(four.jobs, 4);
  assert.deepEqual(four.argv(1), [...command, '--force', '--only', names[1], names[5], '--reporter', 'json']);
  assert.equal(splitAmongWorkers(plan.cells.slice(0, 2), { command, jobs: 4, cellsPerWorker: 3, force: true }, 'T').jobs, 2);
});
