import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { publishDir, removeTornWrites, writeJsonAtomically } from '../../src/util/atomic-write.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('a writer killed mid-write never leaves a torn file: readers see the old or the new JSON', async () => {
  const dir = tempDir();
  const target = join(dir, 'status.json');
  await writeJsonAtomically(target, { generation: -1, payload: 'x'.repeat(100) });
  const atomic = fromRoot('dist/src/util/atomic-write.js');
  const script = `
    const { writeJsonAtomically } = await import(${JSON.stringify(atomic)});
    for (let i = 0; ; i++) await writeJsonAtomically(${JSON.stringify(target)}, { generation: i, payload: 'y'.repeat(200000 + (i % 7)) });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const seen = new Set<number>();
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    const parsed = JSON.parse(readFileSync(target, 'utf8')) as { generation: number };
    seen.add(parsed.generation);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const final = JSON.parse(readFileSync(target, 'utf8')) as { generation: number; payload: string };
  assert.ok(final.generation >= 0, 'the writer made progress');
  assert.ok(final.payload.length >= 200000);
  assert.ok(seen.size > 1, 'the reader saw several generations');
});

test('publishDir moves a finished folder into place in one step, replacing an older copy', () => {
  const dir = tempDir();
  const work = join(dir, 'key.work');
  const final = join(dir, 'key');
  mkdirSync(final);
  writeFileSync(join(final, 'old.txt'), 'old');
  mkdirSync(work);
  writeFileSync(join(work, 'result.json'), '{}');
  publishDir(work, final);
  assert.ok(!existsSync(work));
  assert.deepEqual(readdirSync(final), ['result.json']);
});

test('removeTornWrites takes the temp files of cut-short writes out of a folder, at any depth, and nothing else', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'samples'), { recursive: true });
  writeFileSync(join(dir, '.student-ema.safetensors.a392812f.tmp'), 'torn');
  writeFileSync(join(dir, 'samples', '.step-000001.png.0badbeef.tmp'), 'torn');
  writeFileSync(join(dir, 'student.safetensors'), 'whole');
  writeFileSync(join(dir, '.hidden'), 'kept');
  writeFileSync(join(dir, 'notes.tmp'), 'kept');
  assert.equal(removeTornWrites(dir), 2);
  assert.deepEqual(readdirSync(dir).sort(), ['.hidden', 'notes.tmp', 'samples', 'student.safetensors']);
  assert.deepEqual(readdirSync(join(dir, 'samples')), []);
});
