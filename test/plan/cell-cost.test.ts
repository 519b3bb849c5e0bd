import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimatedCellCost, longestFirst, stageCosts } from '../../src/plan/cell-cost.js';
import { planExperiment } from '../../src/plan/plan.js';
import { fromRoot } from '../helpers/paths.js';

const study = () => planExperiment(fromRoot('experiments/embedded-ablation.yaml'), { hashAsset: async () => 'h' });
const kind = (slug: string): string => slug.replace(/-s\d+$/, '').replace(/-(eps|x0|v)$/, '');

test('the embedded study runs longest first: the 25-step teacher, then the VSD students, the SDS students, the one-step teacher last', async () => {
  const plan = await study();
  const order = longestFirst(plan.cells).map((c) => c.slug);
  assert.equal(order.length, 24);
  assert.deepEqual(order.map(kind), [...Array(3).fill('teacher-ddim-25step'), ...Array(9).fill('vsd'), ...Array(9).fill('sds'), ...Array(3).fill('teacher-one-step-1step')]);
  // equal costs keep the plan's order (every worker computes the same order)
  assert.deepEqual(order.slice(0, 3), ['teacher-ddim-25step-s0', 'teacher-ddim-25step-s1', 'teacher-ddim-25step-s2']);
  assert.deepEqual(order.slice(3, 6), ['vsd-eps-s0', 'vsd-eps-s1', 'vsd-eps-s2']);
  // the plan itself (what `vsdlab plan` and reports list) is left in its order
  assert.equal(plan.cells[0]!.slug, 'vsd-eps-s0');
});

test('a VSD student costs 1.8× an SDS one in distillation (the LoRA teacher\'s prediction and update), as the profile measured', async () => {
  const plan = await study();
  const cost = (slug: string) => stageCosts(plan.cells.find((c) => c.slug === slug)!.config);
  // 150 steps × batch 8 × (student 3 + guided teacher 2 + LoRA teacher at scale 1: 1 + one update 3)
  assert.equal(cost('vsd-eps-s0').distill, 150 * 8 * 9);
  assert.equal(cost('sds-eps-s0').distill, 150 * 8 * 5);
  assert.equal(cost('teacher-ddim-25step-s0').distill, 0);
  // 500 captions × 25 guided steps, forward-only passes at half a training pass
  assert.equal(cost('teacher-ddim-25step-s0').generate, 500 * 25 * 2 * 0.5);
  assert.equal(cost('teacher-one-step-1step-s0').generate, 500 * 2 * 0.5);
  assert.equal(cost('vsd-eps-s0').generate, 500 * 0.5);
});

test('stored stages cost nothing: a teacher row with only its evaluation left goes after every cell that still samples', async () => {
  const plan = await study();
  const teacher = plan.cells.find((c) => c.slug === 'teacher-ddim-25step-s1')!;
  assert.equal(estimatedCellCost(teacher.config, new Set(['distill', 'generate', 'evaluate'])), 0);
  const order = longestFirst(plan.cells, (c) => (c === teacher ? new Set(['distill', 'generate'] as const) : new Set())).map((c) => c.slug);
  assert.equal(order.at(-1), 'teacher-ddim-25step-s1');
  assert.deepEqual(order.slice(0, 2), ['teacher-ddim-25step-s0', 'teacher-ddim-25step-s2']);
});
