// a separate process running a plan with the test stages: for kill/resume and two-runner tests
import { planExperiment } from '../../src/plan/plan.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { testStages } from './test-stages.js';

const [file, store, journal, steps, stepMs] = process.argv.slice(2);
if (!file || !store || !journal) throw new Error('usage: run-with-test-stages FILE STORE JOURNAL [STEPS] [STEP_MS]');
const plan = await planExperiment(file, { hashAsset: async () => 'h' });
const summaries = await runPlan(plan, {
  store: new RunStore(store),
  stages: testStages({ journal, steps: Number(steps ?? 3), stepMs: Number(stepMs ?? 0) }),
  heartbeatMs: 200,
  reporter: { onProgress: (cell, stage, done) => process.stdout.write(`progress ${cell.slug} ${stage} ${done}\n`) },
});
process.stdout.write(`${JSON.stringify(summaries.map((s) => [s.cell.slug, s.outcome]))}\n`);
