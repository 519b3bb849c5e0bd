import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { IssuesError, type Issue } from '../../src/util/issues.js';
import { parseOverride } from '../../src/config/overrides.js';
import { BadInputError } from '../../src/errors.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const noAssets = { hashAsset: async () => 'h' };

async function issuesOf(file: string, overrides: string[] = []): Promise<Issue[]> {
  try {
    await planExperiment(file, { ...noAssets, overrides: overrides.map(parseOverride) });
  } catch (e) {
    assert.ok(e instanceof IssuesError && e.code === 'CONFIG_INVALID', `expected an experiment IssuesError, got ${String(e)}`);
    return [...e.issues];
  }
  assert.fail('expected the plan to fail');
}

const brief = (issues: Issue[]): Array<[number | undefined, string, string]> => issues.map((i) => [i.line, i.path, i.code]);

test('a wrong type, an unknown key and a bad enum value are each reported with line and dotted path', async () => {
  const issues = await issuesOf(fromRoot('test/fixtures/config/bad-keys.yaml'));
  assert.deepEqual(brief(issues), [
    [4, 'distill.steps', 'invalid_type'],
    [6, 'distill.lora_teacher.rnak', 'unrecognized_keys'],
    [8, 'distill.student.parameterization', 'invalid_value'],
  ]);
  assert.ok(issues.every((i) => i.file?.endsWith('bad-keys.yaml')));
  assert.match(issues[2]?.message ?? '', /"eps", "x0", "v", got "x1"/);
});

test('unequal zip lengths and a key in two dimensions are reported at their lines', async () => {
  const issues = await issuesOf(fromRoot('test/fixtures/config/bad-zip.yaml'));
  assert.deepEqual(brief(issues), [
    [7, 'zip.schedule.distill.batch_size', 'zip_length'],
    [8, 'zip.schedule.distill.student.parameterization', 'key_in_two_dimensions'],
  ]);
});

test('unknown top-level keys and a bad matrix shape are located in the file', async () => {
  const dir = tempDir({
    'e.yaml': `name: e
matrx:
  distill.steps: [1, 2]
matrix:
  distill.steps: 3
seeds: [0, -1]
`,
  });
  assert.deepEqual(brief(await issuesOf(join(dir, 'e.yaml'))), [
    [2, 'matrx', 'unrecognized_keys'],
    [5, 'matrix.distill.steps', 'invalid_type'],
    [6, 'seeds[1]', 'too_small'],
  ]);
});

test('an error in a parent file is located in the parent', async () => {
  const dir = tempDir({
    'parent.yaml': 'name: p\nbase:\n  generate:\n    sampler: euler\n',
    'child.yaml': 'name: c\nextends: parent.yaml\n',
  });
  const [issue, ...rest] = await issuesOf(join(dir, 'child.yaml'));
  assert.equal(rest.length, 0);
  assert.ok(issue?.file?.endsWith('parent.yaml'));
  assert.equal(issue?.line, 4);
  assert.equal(issue?.path, 'generate.sampler');
});

test('a YAML syntax error names its line', async () => {
  const dir = tempDir({ 'y.yaml': 'name: y\nbase:\n  distill: {steps: 3\n' });
  const [issue] = await issuesOf(join(dir, 'y.yaml'));
  assert.equal(issue?.code, 'yaml_syntax');
  assert.equal(typeof issue?.line, 'number');
});

test('an extends cycle is a clear error', async () => {
  const dir = tempDir({ 'a.yaml': 'name: a\nextends: b.yaml\n', 'b.yaml': 'name: b\nextends: a.yaml\n' });
  await assert.rejects(planExperiment(join(dir, 'a.yaml'), noAssets), (e: unknown) => e instanceof BadInputError && /cycle/.test(e.message));
});

test('--set overrides are validated like file values, pin matrix keys and refuse zip keys', async () => {
  const file = fromRoot('test/fixtures/config/ablation.yaml');
  const ok = await planExperiment(file, { ...noAssets, overrides: ['distill.steps=7', 'distill.student.parameterization=eps', 'distill.lora_teacher.targets=[q, k, v]'].map(parseOverride) });
  assert.equal(ok.cells.length, 4, 'parameterization pinned: 2 LoRA settings × 2 seeds');
  assert.ok(ok.cells.every((c) => c.config.distill.steps === 7));
  assert.deepEqual(ok.cells[0]?.config.distill.lora_teacher.targets, ['q', 'k', 'v']);

  const bad = await issuesOf(file, ['distill.stepz=7', 'generate.steps=-1']);
  assert.deepEqual(bad.map((i) => `${i.path} ${i.code}`).sort(), ['distill.stepz unrecognized_keys', 'generate.steps too_small']);
  assert.ok(bad.some((i) => i.path === 'distill.stepz' && /--set distill.stepz=7/.test(i.message)));
  assert.ok(bad.some((i) => i.path === 'generate.steps' && /--set generate.steps=-1/.test(i.message)));

  const dir = tempDir({ 'z.yaml': 'name: z\nzip:\n  g:\n    distill.steps: [1, 2]\n    distill.batch_size: [1, 2]\n' });
  const zipIssues = await issuesOf(join(dir, 'z.yaml'), ['distill.steps=3']);
  assert.deepEqual(zipIssues.map((i) => i.code), ['set_zip_key']);
});

test('--set needs key=value', () => {
  assert.throws(() => parseOverride('distill.steps'), (e: unknown) => e instanceof BadInputError && e.kind === 'bad-input');
  assert.deepEqual(parseOverride('generate.guidance_scale=7.5'), { key: 'generate.guidance_scale', value: 7.5, text: 'generate.guidance_scale=7.5' });
});
