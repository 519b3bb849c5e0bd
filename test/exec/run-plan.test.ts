import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { parseOverride } from '../../src/config/overrides.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { experimentStatus } from '../../src/tracking/status.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { journalLines, testStages } from '../helpers/test-stages.js';

const EXP = `name: plumbing
base:
  distill: { steps: 3 }
matrix:
  distill.lora_teacher.enabled: [true, false]
seeds: [0, 1]
`;
const plan = (file: string, set: string[] = []) => planExperiment(file, { hashAsset: async () => 'h', overrides: set.map(parseOverride) });
const count = (lines: string[], stage: string): number => lines.filter((l) => l.startsWith(`${stage} `)).length;

test('a run completes every cell with config, provenance, status, stage records and metrics; a second run does nothing', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const store = new RunStore(join(dir, 'runs'));
  const stages = testStages({ journal });
  const first = await runPlan(await plan(join(dir, 'exp.yaml')), { store, stages });
  assert.deepEqual(first.map((s) => s.outcome), ['completed', 'completed', 'completed', 'completed']);
  assert.equal(count(journalLines(journal), 'distill'), 4);

  const runDir = first[0]!.runDir;
  assert.match(runDir, /plumbing\/vsd-s0-[0-9a-f]{8}$/);
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  assert.equal(config.config.distill.lora_teacher.enabled, true);
  const prov = JSON.parse(readFileSync(join(runDir, 'provenance.json'), 'utf8'));
  assert.equal(prov.node, process.version);
  assert.ok('commit' in prov.git && 'dirty' in prov.git);
  assert.equal(prov.seed, 0);
  assert.equal(JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8')).state, 'completed');
  const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')).metrics as Array<{ name: string; value: number; fingerprint: string }>;
  assert.deepEqual(metrics.map((m) => [m.name, m.value]), [['fid', 25], ['clip-score', 0.3]]);
  assert.match(metrics[0]?.fingerprint ?? '', /^[0-9a-f]{64}$/);
  assert.ok(readlinkSync(join(runDir, 'artifacts', 'distill')).includes('.cache/distill/'));
  const history = readFileSync(join(runDir, 'artifacts', 'distill', 'history.jsonl'), 'utf8').trim().split('\n');
  assert.deepEqual(history.map((l) => JSON.parse(l).step), [1, 2, 3]);

  const second = await runPlan(await plan(join(dir, 'exp.yaml')), { store, stages });
  assert.deepEqual(second.map((s) => s.outcome), ['cached', 'cached', 'cached', 'cached']);
  assert.equal(journalLines(journal).length, 12, 'nothing ran again');
});

test('changing only evaluation settings re-runs only evaluate', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const store = new RunStore(join(dir, 'runs'));
  const stages = testStages({ journal });
  await runPlan(await plan(join(dir, 'exp.yaml')), { store, stages });
  const changed = await plan(join(dir, 'exp.yaml'), ['evaluate.metrics=[{name: faithfulness, classifier: c.onnx}]']);
  const summaries = await runPlan(changed, { store, stages });
  assert.deepEqual(summaries.map((s) => s.outcome), ['completed', 'completed', 'completed', 'completed'], 'new cells (new ids)');
  const lines = journalLines(journal);
  assert.equal(count(lines, 'distill'), 4, 'distill reused from the cache');
  assert.equal(count(lines, 'generate'), 4, 'generate reused from the cache');
  assert.equal(count(lines, 'evaluate'), 8);
  const stagesJson = JSON.parse(readFileSync(join(summaries[0]!.runDir, 'stages.json'), 'utf8'));
  assert.equal(stagesJson.distill.cached, true);
  assert.equal(stagesJson.evaluate.cached, false);
});

test('a failed cell is recorded at once, and a later run retries only the failed stage', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const flag = join(dir, 'fail');
  writeFileSync(flag, '');
  const store = new RunStore(join(dir, 'runs'));
  const p = await plan(join(dir, 'exp.yaml'));
  const first = await runPlan(p, { store, stages: testStages({ journal, failFlag: flag }), only: ['vsd-s0'] });
  assert.equal(first[0]?.outcome, 'failed');
  const status = JSON.parse(readFileSync(join(first[0]!.runDir, 'status.json'), 'utf8'));
  assert.equal(status.state, 'failed');
  assert.equal(status.error.stage, 'evaluate');
  assert.match(readFileSync(join(first[0]!.runDir, 'errors.log'), 'utf8'), /evaluation failed on purpose/);
  rmSync(flag);
  const second = await runPlan(p, { store, stages: testStages({ journal, failFlag: flag }), only: ['vsd-s0'] });
  assert.equal(second[0]?.outcome, 'completed');
  assert.deepEqual(journalLines(journal), ['distill vsd-s0', 'generate vsd-s0', 'evaluate vsd-s0', 'evaluate vsd-s0']);
  assert.equal(JSON.parse(readFileSync(join(second[0]!.runDir, 'status.json'), 'utf8')).attempts, 2);
});

test('--force re-runs a completed cell and its stages', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const journal = join(dir, 'journal');
  const store = new RunStore(join(dir, 'runs'));
  const p = await plan(join(dir, 'exp.yaml'));
  await runPlan(p, { store, stages: testStages({ journal }), only: ['sds-s1'] });
  const again = await runPlan(p, { store, stages: testStages({ journal }), only: ['sds-s1'], force: true });
  assert.equal(again[0]?.outcome, 'completed');
  assert.equal(journalLines(journal).length, 6);
});

test('--only with an unknown cell is a clear error', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  await assert.rejects(runPlan(await plan(join(dir, 'exp.yaml')), { store: new RunStore(join(dir, 'runs')), stages: [], only: ['nope'] }), /--only nope: no such cell/);
});

const runner = fromRoot('dist/test/helpers/run-with-test-stages.js');

test('a killed run shows as stale and resumes from its last checkpoint', async () => {
  const dir = tempDir({ 'exp.yaml': 'name: kill\nbase: { distill: { steps: 40 } }\n' });
  const journal = join(dir, 'journal');
  const storeDir = join(dir, 'runs');
  const child = spawn(process.execPath, [runner, join(dir, 'exp.yaml'), storeDir, journal, '40', '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (/progress cell distill (\d+)/.exec(chunk.toString()) && Number(/distill (\d+)/.exec(chunk.toString())?.[1]) >= 5) resolve();
    });
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));

  const p = await plan(join(dir, 'exp.yaml'));
  const store = new RunStore(storeDir);
  assert.equal(experimentStatus(p, store)[0]?.state, 'stale');
  const [summary] = await runPlan(p, { store, stages: testStages({ journal, steps: 40 }) });
  assert.equal(summary?.outcome, 'completed');
  const stages = JSON.parse(readFileSync(join(summary!.runDir, 'stages.json'), 'utf8'));
  assert.ok(stages.distill.result.started_from >= 5, `resumed from step ${stages.distill.result.started_from}`);
  const steps = readFileSync(join(summary!.runDir, 'artifacts', 'distill', 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.equal(steps.at(-1), 40);
  assert.equal(JSON.parse(readFileSync(join(summary!.runDir, 'status.json'), 'utf8')).attempts, 2);
});

test('two runners on one plan never run the same cell twice', async () => {
  const dir = tempDir({ 'exp.yaml': 'name: two\nmatrix:\n  distill.student.parameterization: [eps, x0, v]\nseeds: [0, 1]\n' });
  const journal = join(dir, 'journal');
  const storeDir = join(dir, 'runs');
  const start = () => spawn(process.execPath, [runner, join(dir, 'exp.yaml'), storeDir, journal, '4', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const children = [start(), start()];
  const outputs = await Promise.all(
    children.map(
      (c) =>
        new Promise<string>((resolve) => {
          let out = '';
          c.stdout.on('data', (d: Buffer) => (out += d.toString()));
          c.on('exit', () => resolve(out));
        }),
    ),
  );
  const lines = journalLines(journal);
  assert.equal(count(lines, 'distill'), 6);
  assert.equal(new Set(lines).size, lines.length, `each (stage, cell) once: ${lines.join(', ')}`);
  const outcomes = outputs.map((o) => JSON.parse(o.trim().split('\n').at(-1) ?? '[]') as Array<[string, string]>);
  const completedBy = outcomes.map((o) => o.filter(([, s]) => s === 'completed').length);
  assert.equal(completedBy[0]! + completedBy[1]!, 6);
  const p = await plan(join(dir, 'exp.yaml'));
  assert.ok(experimentStatus(p, new RunStore(storeDir)).every((r) => r.state === 'completed'));
  assert.ok(!existsSync(join(storeDir, '.cache', 'distill', 'x.lock')));
});

test('a run computes the cells longest first (VSD before SDS, listed SDS first here) and reports them in the plan\'s order', async () => {
  const dir = tempDir({ 'exp.yaml': EXP.replace('[true, false]', '[false, true]') });
  const journal = join(dir, 'journal');
  const summaries = await runPlan(await plan(join(dir, 'exp.yaml')), { store: new RunStore(join(dir, 'runs')), stages: testStages({ journal }) });
  const distilled = journalLines(journal).filter((l) => l.startsWith('distill ')).map((l) => l.split(' ')[1]);
  assert.deepEqual(distilled, ['vsd-s0', 'vsd-s1', 'sds-s0', 'sds-s1']);
  assert.deepEqual(summaries.map((s) => s.cell.slug), ['sds-s0', 'sds-s1', 'vsd-s0', 'vsd-s1']);
});
