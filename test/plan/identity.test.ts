import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { planExperiment } from '../../src/plan/plan.js';
import { parseOverride } from '../../src/config/overrides.js';
import { canonicalJson } from '../../src/util/hash.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const fixture = fromRoot('test/fixtures/config/ablation.yaml');
const ids = async (file: string, set: string[] = [], hashAsset = async () => 'h'): Promise<string[]> =>
  (await planExperiment(file, { hashAsset, overrides: set.map(parseOverride) })).cells.map((c) => c.id);

test('ids are identical across invocations and distinct between cells', async () => {
  const first = await ids(fixture);
  const second = await ids(fixture);
  assert.deepEqual(first, second);
  assert.equal(new Set(first).size, first.length);
  assert.ok(first.every((id) => /^[0-9a-f]{64}$/.test(id)));
});

test('description, notes, tags and logging cadence do not change the id; a result-changing field does', async () => {
  const base = await ids(fixture);
  assert.deepEqual(await ids(fixture, ['notes=hello', 'tags=[a, b]', 'distill.log_every=3', 'distill.checkpoint_every=7', 'evaluate.batch_size=5']), base);
  const dir = tempDir();
  const copy = join(dir, 'copy.yaml');
  writeFileSync(copy, `# a comment\n${(await import('node:fs')).readFileSync(fixture, 'utf8').replace(/^description: .*$/m, 'description: another text')}`);
  assert.deepEqual(await ids(copy), base);
  const changed = await ids(fixture, ['distill.guidance_scale=7.5']);
  assert.ok(changed.every((id, i) => id !== base[i]));
});

test('writing a default explicitly gives the same id as leaving it out', async () => {
  assert.deepEqual(await ids(fixture, ['distill.t_min=20', 'distill.lora_teacher.rank=64']), await ids(fixture));
});

test('the sha256 of every named asset joins the id', async () => {
  const dir = tempDir({ 'teacher/weights.bin': 'one' });
  const file = join(dir, 'e.yaml');
  writeFileSync(file, `name: a\nbase:\n  teacher:\n    model: ${join(dir, 'teacher')}\n`);
  const fromDisk = async (): Promise<string[]> => (await planExperiment(file)).cells.map((c) => c.id);
  const before = await fromDisk();
  assert.deepEqual(await fromDisk(), before);
  writeFileSync(join(dir, 'teacher/weights.bin'), 'two');
  const after = await fromDisk();
  assert.notDeepEqual(after, before);
  const plan = await planExperiment(file);
  writeFileSync(join(dir, 'teacher/.checkpoint'), 'training in progress');
  assert.deepEqual(await fromDisk(), after, 'hidden files in an asset folder are not part of it');
  assert.equal(plan.cells[0]?.assets[0]?.key, 'teacher.model');
  assert.match(plan.cells[0]?.assets[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
});

test('canonical JSON sorts keys at every level', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } }), '{"a":{"c":3,"d":[2,{"y":2,"z":1}]},"b":1}');
});
