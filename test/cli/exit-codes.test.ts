import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { EXIT_CODES, exitCodeFor } from '../../src/cli/exit-codes.js';
import { BadInputError, ConflictError, FailureError, InterruptedError, MissingAssetError, VsdlabError } from '../../src/errors.js';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const EXP = 'name: codes\nbase:\n  teacher: { model: no-teacher }\n  distill: { prompts: no-prompts.txt }\nseeds: [0]\n';

/** an Io that keeps what a command writes; `out` may throw, as a broken stdout would */
function capture(out: (text: string) => void = () => {}): Io & { errors: string[] } {
  const errors: string[] = [];
  return { errors, out, err: (text) => errors.push(text) };
}

test('each kind of error has its one exit code, and anything else is an internal bug (70)', () => {
  assert.equal(exitCodeFor(new BadInputError('X', 'm')), 2);
  assert.equal(exitCodeFor(new MissingAssetError('X', 'm')), 2);
  assert.equal(exitCodeFor(new ConflictError('X', 'm')), 75);
  assert.equal(exitCodeFor(new InterruptedError('X', 'm')), 130);
  assert.equal(exitCodeFor(new FailureError('X', 'm')), 1);
  assert.equal(exitCodeFor(new Error('a bug')), 70);
  assert.equal(exitCodeFor('a thrown string'), 70);
  assert.deepEqual(EXIT_CODES, { 'bad-input': 2, 'missing-asset': 2, conflict: 75, interrupted: 130, failure: 1, internal: 70 });
  const e = new MissingAssetError('SOME_CODE', 'gone', 'look elsewhere');
  assert.ok(e instanceof VsdlabError);
  assert.deepEqual([e.kind, e.code, e.message, e.hint, e.name], ['missing-asset', 'SOME_CODE', 'gone', 'look elsewhere', 'MissingAssetError']);
});

test('bad input through main(): an unreadable experiment file exits 2 with its message and no stack', async () => {
  const io = capture();
  const code = await main(['plan', join(tempDir(), 'missing.yaml')], io);
  assert.equal(code, 2, io.errors.join('\n'));
  assert.match(io.errors.join('\n'), /missing\.yaml: cannot read the experiment file/);
  assert.doesNotMatch(io.errors.join('\n'), /internal error/);
});

test('bad input through main(): run --jobs 0 is a usage error (2), not an internal error', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const io = capture();
  const code = await main(['run', join(dir, 'exp.yaml'), '--jobs', '0'], io);
  assert.equal(code, 2, io.errors.join('\n'));
  assert.match(io.errors.join('\n'), /--jobs must be a whole number/);
});

test('a missing asset through main(): fid with an extractor model that does not exist exits 2', async () => {
  const dir = tempDir({ 'a/x.png': '', 'b/x.png': '' });
  const io = capture();
  const code = await main(['fid', join(dir, 'a'), join(dir, 'b'), '--inception', join(dir, 'nope.onnx')], io);
  assert.equal(code, 2, io.errors.join('\n'));
  assert.match(io.errors.join('\n'), /nope\.onnx does not exist/);
});

test('a failure outside the input: sbatch refusing the job exits 1, with the script kept', () => {
  const dir = tempDir({ 'exp.yaml': EXP, 'bin/sbatch': '#!/usr/bin/env bash\necho "sbatch: error: invalid partition" >&2\nexit 1\n' });
  chmodSync(join(dir, 'bin', 'sbatch'), 0o755);
  const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'runs'), '--executor', 'slurm'], { env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /sbatch .*array\.sbatch: sbatch: error: invalid partition/);
  assert.match(r.stderr, /hint: the script is written/);
});

test('an unknown error through main() prints "internal error" and exits 70', async () => {
  const io = capture(() => {
    throw new Error('stdout is gone');
  });
  const code = await main(['schema'], io);
  assert.equal(code, 70);
  assert.match(io.errors.join('\n'), /^vsdlab: internal error: stdout is gone$/m);
  assert.match(io.errors.join('\n'), /please report it/);
});
