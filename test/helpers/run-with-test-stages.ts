// a separate process running a plan with the test stages: for kill/resume and two-runner tests
import { planExperiment } from '../../src/plan/plan.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { WORKER_RECYCLE_EXIT } from '../../src/cli/exit-codes.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { testStages } from './test-stages.js';
import { jsonReporter } from '../../src/exec/reporters/json.js';

const [file, store, journal, steps, stepMs, mode, maxCells, failFlag, failedSince] = process.argv.slice(2);
if (!file || !store || !journal) throw new Error('usage: run-with-test-stages FILE STORE JOURNAL [STEPS] [STEP_MS]');
const plan = await planExperiment(file, { hashAsset: async () => 'h' });
const summaries = await runPlan(plan, {
  store: new RunStore(store),
  stages: testStages({ journal, steps: Number(steps ?? 3), stepMs: Number(stepMs ?? 0), ...(failFlag ? { failFlag } : {}) }),
  heartbeatMs: 200,
  ...(maxCells ? { maxCells: Number(maxCells) } : {}),
  ...(failedSince ? { failedSince } : {}),
  reporter:
    mode === 'json'
      ? jsonReporter((line) => process.stdout.write(`${line}\n`), 0)
      : { onProgress: (cell, stage, done) => process.stdout.write(`progress ${cell.slug} ${stage} ${done}\n`) },
});
if (mode !== 'json') process.stdout.write(`${JSON.stringify(summaries.map((s) => [s.cell.slug, s.outcome]))}\n`);
if (maxCells && summaries.length < plan.cells.length) process.exitCode = WORKER_RECYCLE_EXIT;
