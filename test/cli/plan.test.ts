import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vsdlab } from '../helpers/cli.js';

const fixture = 'test/fixtures/config/ablation.yaml';

test('vsdlab plan prints 6 cells with their varying keys and run ids, the same ids every time', () => {
  const first = vsdlab(['plan', fixture]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^lora-param-ablation: 6 cells/);
  for (const slug of ['vsd-eps-s0', 'vsd-eps-s1', 'vsd-x0-s0', 'vsd-x0-s1', 'sds-eps-s0', 'sds-eps-s1']) assert.match(first.stdout, new RegExp(`\\b${slug}\\b`));
  assert.doesNotMatch(first.stdout, /sds-x0/);
  assert.match(first.stdout, /distill\.lora_teacher\.enabled\s+distill\.student\.parameterization\s+seed\s+run id/);
  assert.equal(vsdlab(['plan', fixture]).stdout, first.stdout);
});

test('vsdlab plan --json gives cells with id, slug and the full resolved config', () => {
  const r = vsdlab(['plan', fixture, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.count, 6);
  assert.equal(plan.cells.length, 6);
  const ids = plan.cells.map((c: { id: string }) => c.id);
  assert.equal(new Set(ids).size, 6);
  const cell = plan.cells[0];
  assert.equal(cell.slug, 'vsd-eps-s0');
  assert.equal(cell.config.distill.student.parameterization, 'eps');
  assert.equal(cell.config.distill.lora_teacher.rank, 64);
  assert.equal(cell.config.generate.num_samples, 8);
  assert.deepEqual(JSON.parse(vsdlab(['plan', fixture, '--json']).stdout).cells.map((c: { id: string }) => c.id), ids);
});

test('an unknown key and a wrong type exit 2, each named with file:line and dotted path, without a stack trace', () => {
  const r = vsdlab(['plan', 'test/fixtures/config/bad-keys.yaml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad-keys\.yaml:4 {2}distill\.steps {2}expected number, got string "twenty"/);
  assert.match(r.stderr, /bad-keys\.yaml:6 {2}distill\.lora_teacher\.rnak {2}unknown key/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  assert.equal(r.stdout, '');
});

test('usage mistakes and missing files exit 2 with one clear line', () => {
  const missing = vsdlab(['plan', 'no/such.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no\/such\.yaml: cannot read the experiment file \(no such file\)/);
  const noArg = vsdlab(['plan']);
  assert.equal(noArg.code, 2);
  const badSet = vsdlab(['plan', fixture, '--set', 'distill.steps']);
  assert.equal(badSet.code, 2);
  assert.match(badSet.stderr, /--set distill\.steps: expected dotted\.key=value/);
  const unknownCommand = vsdlab(['plna', fixture]);
  assert.equal(unknownCommand.code, 2);
});

test('vsdlab schema prints a JSON Schema that knows the cell fields', () => {
  const r = vsdlab(['schema']);
  assert.equal(r.code, 0, r.stderr);
  const schema = JSON.parse(r.stdout);
  assert.equal(schema.type, 'object');
  assert.equal(schema.additionalProperties, false);
  const parameterization = schema.properties.base.properties.distill.properties.student.properties.parameterization;
  assert.deepEqual(parameterization.enum, ['eps', 'x0', 'v']);
});
