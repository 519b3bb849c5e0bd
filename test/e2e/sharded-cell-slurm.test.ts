import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { slurmSkip, slurmUnavailable } from '../helpers/slurm.js';
import { tempDir } from '../helpers/temp.js';
import { writeTinyWorld } from './tiny-world.js';

const experiment = (dir: string): string => `name: slurm-cell
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'data/annotations/captions_train.json')} }
  generate: { sampler: ddpm, steps: 2, num_samples: 10, batch_size: 4, shards: 2 }
  evaluate:
    batch_size: 3
    shards: 2
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 10, seed: 0 }
    metrics:
      - { name: fid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')} }
      - { name: clip-score, convention: cosine-mean, prefix: "", image_encoder: ${join(dir, 'clip-image.onnx')}, text_encoder: ${join(dir, 'clip-text.onnx')}, tokenizer: ${join(dir, 'tokenizer.json')} }
seeds: [0]
`;

const stageDir = (store: string, stage: string): string => {
  const root = join(store, '.cache', stage);
  return join(root, readdirSync(root).find((d) => !d.includes('.'))!);
};

test('vsdlab run --shard-executor slurm: a cell\'s generation and evaluation shards run as real sbatch arrays, with the pool\'s images and metrics', { skip: slurmSkip() }, async () => {
  assert.equal(slurmUnavailable(), undefined, 'VSDLAB_REQUIRE_SLURM=1: a Slurm cluster must answer (.ci/slurm-up)');
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), experiment(dir));
  const run = (store: string, executor: string): string => {
    const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, store), '--shard-executor', executor], { env: { VSDLAB_FEATURE_CACHE: join(dir, `features-${store}`) } });
    assert.equal(r.code, 0, r.stderr);
    const cell = readdirSync(join(dir, store, 'slurm-cell'), { withFileTypes: true }).find((d) => d.isDirectory())!.name;
    return readFileSync(join(dir, store, 'slurm-cell', cell, 'metrics.json'), 'utf8');
  };
  const pool = run('pool', 'pool');
  const slurm = run('slurm', 'slurm');
  const metrics = (text: string): unknown => (JSON.parse(text) as { metrics: unknown }).metrics;
  assert.deepEqual(metrics(slurm), metrics(pool));
  const images = (store: string): string => join(stageDir(join(dir, store), 'generate'), 'images');
  for (const f of readdirSync(images('pool'))) assert.ok(readFileSync(join(images('slurm'), f)).equals(readFileSync(join(images('pool'), f))), `${f} differs`);
  // each shard was an array task: its log names it
  const logs = (folder: string): string[] => readdirSync(join(folder, 'slurm', 'logs')).filter((f) => f.endsWith('.out')).map((f) => readFileSync(join(folder, 'slurm', 'logs', f), 'utf8')).sort();
  const gen = logs(join(stageDir(join(dir, 'slurm'), 'generate'), 'shards'));
  assert.equal(gen.length, 2);
  assert.match(gen.join('\n'), /generate shard 0\/2: done, images 0\.\.8/);
  assert.match(gen.join('\n'), /generate shard 1\/2: done, images 8\.\.10/);
  const clip = logs(join(stageDir(join(dir, 'slurm'), 'evaluate'), 'shards', '1-clip-score'));
  assert.equal(clip.length, 2);
  assert.match(clip.join('\n'), /shard 1\/2: done/);
});

test('--shard-executor slurm is passed on: a cell array task sends its cells\' shards to Slurm with the same --slurm-* options', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'exp.yaml'), 'name: dry\nbase:\n  distill: { enabled: false }\n  generate: { shards: 4 }\nseeds: [0]\n');
  const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'store'), '--executor', 'slurm', '--dry-run', '--shard-executor', 'slurm', '--slurm-gpus', '1', '--slurm-extra=--account=abc']);
  assert.equal(r.code, 0, r.stderr);
  const script = readFileSync(join(dir, 'store', 'dry', 'slurm', 'array.sbatch'), 'utf8');
  assert.match(script, /^#SBATCH --account=abc$/m);
  const exec = script.split('\n').find((l) => l.startsWith('exec '))!;
  assert.match(exec, / --shard-executor slurm --slurm-gpus 1 --slurm-extra=--account=abc /);
  // the pool (the default) adds nothing to a task's command line
  const pool = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'pool'), '--executor', 'slurm', '--dry-run']);
  assert.equal(pool.code, 0, pool.stderr);
  assert.doesNotMatch(readFileSync(join(dir, 'pool', 'dry', 'slurm', 'array.sbatch'), 'utf8'), /shard-executor/);
});

test('an interrupted vsdlab run cancels its shard array: no task of it is left queued or running', { skip: slurmSkip() }, async () => {
  assert.equal(slurmUnavailable(), undefined, 'VSDLAB_REQUIRE_SLURM=1: a Slurm cluster must answer (.ci/slurm-up)');
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), experiment(dir).replace('name: slurm-cell', 'name: slurm-stop').replace('num_samples: 10, batch_size: 4', 'num_samples: 24, batch_size: 2').replace('steps: 2,', 'steps: 25,'));
  const store = join(dir, 'store');
  const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), 'run', join(dir, 'exp.yaml'), '--store', store, '--shard-executor', 'slurm'], { stdio: 'ignore', env: { ...process.env, CI: '1' } });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const queued = (name: string): boolean => spawnSync('squeue', ['-h', '-n', name, '-o', '%i'], { encoding: 'utf8' }).stdout.trim() !== '';
  // the generation array's job name, from its script; then wait until Slurm lists it
  let name: string | undefined;
  for (let t = 0; name === undefined || !queued(name); t++) {
    assert.ok(t < 1200 && child.exitCode === null, 'the run submitted no shard array');
    const root = join(store, '.cache', 'generate');
    const work = existsSync(root) ? readdirSync(root).find((d) => d.endsWith('.work')) : undefined;
    const script = work ? join(root, work, 'shards', 'slurm', 'shards.sbatch') : '';
    if (script && existsSync(script)) name = /--job-name=(\S+)/.exec(readFileSync(script, 'utf8'))?.[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  assert.equal(await exit, 130);
  for (let t = 0; queued(name); t++) {
    assert.ok(t < 100, `Slurm still lists ${name} 10 s after the run was interrupted`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
