import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { writeTinyWorld } from '../e2e/tiny-world.js';

// 24 images in batches of 4 by 2 generation shards, read by 2 evaluation shards in batches of 3
const experiment = (dir: string): string => `name: kill-shards
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'data/annotations/captions_train.json')} }
  generate: { sampler: ddpm, steps: 3, num_samples: 24, batch_size: 4, shards: 2 }
  evaluate:
    batch_size: 3
    shards: 2
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 24, seed: 0 }
    metrics:
      - { name: fid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')} }
      - { name: kid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, subsets: 4, subset_size: 6 }
      - { name: clip-score, convention: cosine-mean, prefix: "", image_encoder: ${join(dir, 'clip-image.onnx')}, text_encoder: ${join(dir, 'clip-text.onnx')}, tokenizer: ${join(dir, 'tokenizer.json')} }
seeds: [0]
`;

/** pids of live processes whose command line holds every one of `parts` */
function processes(...parts: string[]): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmd: string;
    try {
      cmd = readFileSync(join('/proc', name, 'cmdline'), 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (parts.every((p) => cmd.includes(p))) pids.push(Number(name));
  }
  return pids;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** the finished generate stage's images, or the work folder's of a run in progress */
function images(store: string, work: boolean): string | undefined {
  const root = join(store, '.cache', 'generate');
  if (!existsSync(root)) return undefined;
  const d = readdirSync(root).find((n) => n.endsWith('.work') === work && !n.endsWith('.lock'));
  return d && existsSync(join(root, d, 'images')) ? join(root, d, 'images') : undefined;
}
const pngs = (dir: string | undefined): string[] => (dir ? readdirSync(dir).filter((f) => /^\d{6}\.png$/.test(f)).sort() : []);

async function world(): Promise<{ dir: string; run: (store: string) => { code: number; stderr: string }; start: (store: string) => { exit: Promise<number | null> }; metrics: (store: string) => unknown }> {
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), experiment(dir));
  const env = (store: string): Record<string, string> => ({ VSDLAB_FEATURE_CACHE: join(dir, `features-${store}`) });
  return {
    dir,
    run: (store) => vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, store)], { env: env(store) }),
    start: (store) => {
      const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), 'run', join(dir, 'exp.yaml'), '--store', join(dir, store)], { stdio: 'ignore', env: { ...process.env, CI: '1', ...env(store) } });
      return { exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
    },
    metrics: (store) => {
      const cell = readdirSync(join(dir, store, 'kill-shards'), { withFileTypes: true }).find((d) => d.isDirectory())!.name;
      return (JSON.parse(readFileSync(join(dir, store, 'kill-shards', cell, 'metrics.json'), 'utf8')) as { metrics: unknown }).metrics;
    },
  };
}

function sameImages(a: string, b: string): void {
  assert.deepEqual(pngs(b), pngs(a));
  for (const f of pngs(a)) assert.ok(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), `${f} differs from the uninterrupted run`);
}

test('kill -9 of a generation shard midway, and of `vsdlab run` itself: the reruns finish with the images and metrics of an uninterrupted run', async () => {
  const w = await world();
  const whole = w.run('whole');
  assert.equal(whole.code, 0, whole.stderr);
  const reference = images(join(w.dir, 'whole'), false)!;

  // a shard worker killed once its shard has written an image: the run fails naming the shard; the rerun finishes
  const store = join(w.dir, 'worker');
  const first = w.start('worker');
  let killed: number | undefined;
  while (killed === undefined) {
    const [pid] = processes('generate-worker', store, '--shard');
    if (pid !== undefined && pngs(images(store, true)).length > 0) {
      process.kill(pid, 'SIGKILL');
      killed = pid;
    }
    await sleep(5);
  }
  assert.notEqual(await first.exit, 0, 'the run went on as if the killed shard had finished');
  const written = pngs(images(store, true)).length;
  assert.ok(written > 0 && written < 24, `killed with ${written} of 24 images written`);
  const rerun = w.run('worker');
  assert.equal(rerun.code, 0, rerun.stderr);
  sameImages(reference, images(store, false)!);
  assert.deepEqual(w.metrics('worker'), w.metrics('whole'));

  // `vsdlab run` killed while its shards generate: its orphaned workers stop by themselves, the rerun finishes
  const parentStore = join(w.dir, 'parent');
  const second = w.start('parent');
  while (pngs(images(parentStore, true)).length === 0) await sleep(5);
  const [parent] = processes('bin/vsdlab.js', 'run', parentStore).filter((p) => processes('generate-worker', parentStore).every((q) => q !== p));
  process.kill(parent!, 'SIGKILL');
  await second.exit;
  for (let t = 0; processes('generate-worker', parentStore).length > 0; t++) {
    assert.ok(t < 200, 'an orphaned generation shard is still running 10 s after its run was killed');
    await sleep(50);
  }
  const again = w.run('parent');
  assert.equal(again.code, 0, again.stderr);
  sameImages(reference, images(parentStore, false)!);
  assert.deepEqual(w.metrics('parent'), w.metrics('whole'));
});

test('kill -9 of an evaluation shard during its feature extraction: the rerun finishes with the uninterrupted run\'s FID, KID and CLIP score', async () => {
  const w = await world();
  const whole = w.run('whole');
  assert.equal(whole.code, 0, whole.stderr);
  const store = join(w.dir, 'killed');
  const run = w.start('killed');
  // an evaluation shard worker of FID killed once it has cached the features of an image, before it leaves its state
  const cached = (): number => (existsSync(join(w.dir, 'features-killed')) ? readdirSync(join(w.dir, 'features-killed'), { recursive: true }).filter((f) => String(f).endsWith('.f32')).length : 0);
  let victim: number | undefined;
  let argv: string[] = [];
  for (;;) {
    [victim] = processes('shards worker', join('shards', '0-fid'), store);
    if (victim !== undefined && cached() > 0) {
      argv = readFileSync(join('/proc', String(victim), 'cmdline'), 'utf8').split('\0').filter((a) => a !== '');
      break;
    }
    await sleep(2);
  }
  const shardDir = argv.find((a) => a.includes(join('shards', '0-fid')))!;
  const [index, total] = argv.at(-1)!.split('/');
  process.kill(victim, 'SIGKILL');
  assert.notEqual(await run.exit, 0);
  assert.ok(!existsSync(join(shardDir, `shard-${index!.padStart(5, '0')}-of-${total!.padStart(5, '0')}.json`)), 'the killed shard had already finished');
  const rerun = w.run('killed');
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.deepEqual(w.metrics('killed'), w.metrics('whole'));
});
