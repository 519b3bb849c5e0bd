import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { IssuesError } from '../../src/util/issues.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const noAssets = { hashAsset: async () => 'h' };

test('2×2 matrix × 2 seeds minus one excluded pair gives 6 cells, first key outermost, seeds innermost', async () => {
  const plan = await planExperiment(fromRoot('test/fixtures/config/ablation.yaml'), noAssets);
  assert.equal(plan.cells.length, 6);
  assert.deepEqual(plan.cells.map((c) => c.slug), ['vsd-eps-s0', 'vsd-eps-s1', 'vsd-x0-s0', 'vsd-x0-s1', 'sds-eps-s0', 'sds-eps-s1']);
  assert.deepEqual(plan.varyingKeys, ['distill.lora_teacher.enabled', 'distill.student.parameterization', 'seed']);
  const cell = plan.cells[2];
  assert.ok(cell);
  assert.equal(cell.config.distill.lora_teacher.enabled, true);
  assert.equal(cell.config.distill.student.parameterization, 'x0');
  assert.equal(cell.config.distill.steps, 20, 'base value applied');
  assert.equal(cell.config.distill.guidance_scale, 4.5, 'SwiftBrush default filled in');
  assert.equal(cell.config.seed, 0);
});

test('zip groups vary together and compose with the matrix', async () => {
  const dir = tempDir({
    'exp.yaml': `name: z
matrix:
  distill.lora_teacher.enabled: [true, false]
zip:
  length:
    distill.steps: [10, 20, 30]
    distill.batch_size: [2, 4, 8]
`,
  });
  const plan = await planExperiment(join(dir, 'exp.yaml'), noAssets);
  assert.equal(plan.cells.length, 6);
  for (const c of plan.cells) {
    assert.equal(c.config.distill.batch_size, { 10: 2, 20: 4, 30: 8 }[c.config.distill.steps]);
  }
  assert.deepEqual(plan.cells.map((c) => c.config.distill.steps), [10, 20, 30, 10, 20, 30]);
});

test('include adds cells over base, once per seed', async () => {
  const dir = tempDir({
    'exp.yaml': `name: inc
base: { distill: { enabled: true } }
matrix:
  distill.student.parameterization: [eps, v]
include:
  - distill.enabled: false
    generate.sampler: ddim
    generate.steps: 25
seeds: [0, 1]
`,
  });
  const plan = await planExperiment(join(dir, 'exp.yaml'), noAssets);
  assert.equal(plan.cells.length, 6);
  const teacher = plan.cells.filter((c) => !c.config.distill.enabled);
  assert.deepEqual(teacher.map((c) => c.config.seed), [0, 1]);
  assert.ok(teacher.every((c) => c.config.generate.sampler === 'ddim' && c.config.generate.steps === 25));
});

test('extends: the child overrides base values and matrix keys of the parent', async () => {
  const dir = tempDir({
    // a project (the workspace): `extends` may lead up to its folder, not beyond (test/plan/workspace.test.ts)
    'package.json': '{}',
    'parent.yaml': `name: parent
base:
  distill: { steps: 100, batch_size: 8 }
matrix:
  distill.student.parameterization: [eps, x0, v]
seeds: [0, 1, 2]
`,
    'sub/child.yaml': `name: child
extends: ../parent.yaml
base:
  distill: { steps: 5 }
matrix:
  distill.student.parameterization: [v]
seeds: [7]
`,
  });
  const plan = await planExperiment(join(dir, 'sub/child.yaml'), noAssets);
  assert.equal(plan.experiment, 'child');
  assert.equal(plan.cells.length, 1);
  const [cell] = plan.cells;
  assert.equal(cell?.config.distill.steps, 5);
  assert.equal(cell?.config.distill.batch_size, 8, 'parent base value kept');
  assert.equal(cell?.config.distill.student.parameterization, 'v');
  assert.equal(cell?.config.seed, 7);
});

test("extends: a child's include and exclude lists replace the parent's; absent, they are inherited", async () => {
  const dir = tempDir({
    'parent.yaml': `name: parent
matrix:
  distill.student.parameterization: [eps, x0]
exclude:
  - distill.student.parameterization: x0
include:
  - { distill.enabled: false, generate.sampler: ddim, generate.steps: 50 }
`,
    'inherits.yaml': 'name: inherits\nextends: parent.yaml\n',
    'replaces.yaml': `name: replaces
extends: parent.yaml
exclude: []
include:
  - { distill.enabled: false, generate.sampler: ddim, generate.steps: 10 }
`,
  });
  const inherited = await planExperiment(join(dir, 'inherits.yaml'), noAssets);
  assert.deepEqual(inherited.cells.map((c) => c.slug), ['eps', 'teacher-ddim-50step']);
  const replaced = await planExperiment(join(dir, 'replaces.yaml'), noAssets);
  assert.deepEqual(replaced.cells.map((c) => c.slug), ['eps', 'x0', 'teacher-ddim-10step']);
});

test('an exclude that removes everything is an empty-grid error; an exclude that matches nothing is reported', async () => {
  const dir = tempDir({
    'all.yaml': `name: all
matrix:
  distill.student.parameterization: [eps]
exclude:
  - distill.student.parameterization: eps
`,
    'typo.yaml': `name: typo
matrix:
  distill.student.parameterization: [eps, v]
exclude:
  - distill.student.parameterization: x-zero
`,
  });
  await assert.rejects(planExperiment(join(dir, 'all.yaml'), noAssets), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.deepEqual(e.issues.map((i) => i.code), ['empty_grid']);
    assert.equal(e.issues[0]?.line, 5);
    return true;
  });
  await assert.rejects(planExperiment(join(dir, 'typo.yaml'), noAssets), (e: unknown) => {
    assert.ok(e instanceof IssuesError);
    assert.deepEqual(e.issues.map((i) => [i.code, i.line]), [['exclude_unmatched', 5]]);
    return true;
  });
});

test('identical cells (an include repeating a matrix cell) are rejected', async () => {
  const dir = tempDir({
    'dup.yaml': `name: dup
matrix:
  distill.student.parameterization: [eps, v]
include:
  - distill.student.parameterization: v
`,
  });
  await assert.rejects(planExperiment(join(dir, 'dup.yaml'), noAssets), /same config as cell 2/);
});
