import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { writeTinyWorld } from '../e2e/tiny-world.js';

// the teacher with ddpm: its step noise is drawn per batch, so a resume that regrouped the batches would differ
const experiment = (dir: string): string => `name: resume
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'data/annotations/captions_train.json')} }
  generate: { sampler: ddpm, steps: 3, num_samples: 24, batch_size: 4 }
  evaluate:
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 24, seed: 0 }
seeds: [0]
`;

/** the generate stage's folder of a store: the finished one, or the work folder of a run in progress */
function imagesDir(store: string, work: boolean): string | undefined {
  const root = join(store, '.cache', 'generate');
  if (!existsSync(root)) return undefined;
  const dir = readdirSync(root).find((d) => d.endsWith('.work') === work && !d.endsWith('.lock'));
  return dir && existsSync(join(root, dir, 'images')) ? join(root, dir, 'images') : undefined;
}

const pngs = (dir: string | undefined): string[] => (dir ? readdirSync(dir).filter((f) => /^\d{6}\.png$/.test(f)).sort() : []);

test('generate killed (SIGKILL) midway resumes: finished images are kept as they are, and every image is byte-identical to an uninterrupted run', async () => {
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), experiment(dir));
  const whole = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'whole')]);
  assert.equal(whole.code, 0, whole.stderr);
  const reference = imagesDir(join(dir, 'whole'), false)!;
  assert.equal(pngs(reference).length, 24);

  const store = join(dir, 'killed');
  const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), 'run', join(dir, 'exp.yaml'), '--store', store], { stdio: 'ignore', env: { ...process.env, CI: '1' } });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
  // kill once the first batch is on disk: the run is inside the generation
  while (pngs(imagesDir(store, true)).length === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', 'the run ended before it could be killed');
  const work = imagesDir(store, true)!;
  const before = new Map(pngs(work).map((f) => [f, statSync(join(work, f)).ino]));
  assert.ok(before.size > 0 && before.size < 24, `killed with ${before.size} of 24 images written`);
  // a torn write left by a kill (write-file-atomic's temporary name) is cleaned up, not counted
  writeFileSync(join(work, '000023.png.12345'), 'torn');

  const rerun = vsdlab(['run', join(dir, 'exp.yaml'), '--store', store]);
  assert.equal(rerun.code, 0, rerun.stderr);
  const done = imagesDir(store, false)!;
  assert.deepEqual(readdirSync(done).sort(), pngs(reference));
  for (const f of pngs(reference)) assert.ok(readFileSync(join(done, f)).equals(readFileSync(join(reference, f))), `${f} differs from the uninterrupted run`);
  // the images finished before the kill were not written again (same inode: no rename over them)
  for (const [f, ino] of before) assert.equal(statSync(join(done, f)).ino, ino, `${f} was rewritten`);
  const samples = (dir: string): unknown => JSON.parse(readFileSync(join(dir, '..', 'samples.json'), 'utf8'));
  assert.deepEqual(samples(done), samples(reference));
});
