import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { writeTinyWorld } from '../e2e/tiny-world.js';

// the teacher with ddpm: its step noise is drawn per batch, so a shard that cut a batch would change images.
// 10 captions in batches of 4: batches of 4, 4, 2; 2 shards are uneven (8 + 2 images), 5 shards leave two empty
const experiment = (dir: string, metrics: boolean): string => `name: sharded-cell
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'data/annotations/captions_train.json')} }
  generate: { sampler: ddpm, steps: 2, num_samples: 10, batch_size: 4 }
  evaluate:
    batch_size: 3
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 10, seed: 0 }
    metrics:${metrics ? `
      - { name: fid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')} }
      - { name: kid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, subsets: 4, subset_size: 5 }
      - { name: precision-recall, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, k: 2 }
      - { name: clip-score, convention: cosine-mean, prefix: "", image_encoder: ${join(dir, 'clip-image.onnx')}, text_encoder: ${join(dir, 'clip-text.onnx')}, tokenizer: ${join(dir, 'tokenizer.json')} }` : ' []'}
seeds: [0]
`;

interface Metric {
  name: string;
  value: number;
  std?: number;
  protocol: Record<string, unknown>;
}

/** the finished generate stage folder of a store */
const generated = (store: string): string => {
  const root = join(store, '.cache', 'generate');
  return join(root, readdirSync(root).find((d) => !d.includes('.'))!);
};
const pngs = (dir: string): string[] => readdirSync(join(dir, 'images')).sort();

function run(dir: string, file: string, store: string, set: string[]): { cell: string; metrics: Metric[]; images: string } {
  const r = vsdlab(['run', join(dir, file), '--store', join(dir, store), ...set.flatMap((s) => ['--set', s])], { env: { VSDLAB_FEATURE_CACHE: join(dir, `features-${store}`) } });
  assert.equal(r.code, 0, r.stderr);
  const cell = readdirSync(join(dir, store, 'sharded-cell'), { withFileTypes: true }).find((d) => d.isDirectory())!.name;
  const metrics = (JSON.parse(readFileSync(join(dir, store, 'sharded-cell', cell, 'metrics.json'), 'utf8')) as { metrics: Metric[] }).metrics;
  return { cell, metrics, images: generated(join(dir, store)) };
}

test('generate.shards and evaluate.shards: every shard count writes the same image bytes and the same metrics as one process, with the same cell id', async () => {
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'metrics.yaml'), experiment(dir, true));
  writeFileSync(join(dir, 'images.yaml'), experiment(dir, false));
  const one = run(dir, 'metrics.yaml', 'one', []);
  const three = run(dir, 'metrics.yaml', 'three', ['generate.shards=3', 'evaluate.shards=3']);
  const two = run(dir, 'images.yaml', 'two', ['generate.shards=2']);
  const five = run(dir, 'images.yaml', 'five', ['generate.shards=5']);
  assert.equal(three.cell, one.cell, 'the shard counts are operational: the cell keeps its id');
  assert.equal(pngs(one.images).length, 10);
  for (const other of [three, two, five]) {
    assert.deepEqual(pngs(other.images), pngs(one.images));
    for (const f of pngs(one.images)) assert.ok(readFileSync(join(other.images, 'images', f)).equals(readFileSync(join(one.images, 'images', f))), `${other.images}: ${f} differs from the one-process image`);
    assert.equal(readFileSync(join(other.images, 'samples.json'), 'utf8'), readFileSync(join(one.images, 'samples.json'), 'utf8'));
    assert.deepEqual(JSON.parse(readFileSync(join(other.images, 'result.json'), 'utf8')), JSON.parse(readFileSync(join(one.images, 'result.json'), 'utf8')));
  }
  // the shards really ran, each recording its images (two of five shards empty: 3 batches)
  const records = (g: string, n: number): Array<{ start: number; end: number; images: unknown[] }> =>
    Array.from({ length: n }, (_, i) => JSON.parse(readFileSync(join(g, 'shards', `generated-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.json`), 'utf8')) as { start: number; end: number; images: unknown[] });
  assert.deepEqual(records(two.images, 2).map((r) => [r.start, r.end, r.images.length]), [[0, 8, 8], [8, 10, 2]]);
  assert.deepEqual(records(five.images, 5).map((r) => [r.start, r.end]), [[0, 4], [4, 8], [8, 10], [10, 10], [10, 10]]);

  // every metric: FID within 1e-12 relative (a float64 merge of moments), the others exactly
  assert.deepEqual(three.metrics.map((m) => m.name), ['fid', 'kid', 'precision', 'recall', 'clip-score']);
  assert.deepEqual(three.metrics.map((m) => m.name), one.metrics.map((m) => m.name));
  const [fid3, ...rest3] = three.metrics as [Metric, ...Metric[]];
  const [fid1, ...rest1] = one.metrics as [Metric, ...Metric[]];
  assert.ok(Math.abs(fid3.value - fid1.value) <= 1e-12 * Math.abs(fid1.value), `FID ${fid3.value} vs ${fid1.value}`);
  assert.deepEqual({ ...fid3, value: 0 }, { ...fid1, value: 0 });
  assert.deepEqual(rest3, rest1);
  // ... and each from three shard states
  const evaluate = join(dir, 'three', '.cache', 'evaluate');
  const stage = join(evaluate, readdirSync(evaluate).find((d) => !d.includes('.'))!);
  for (const m of ['0-fid', '1-kid', '2-precision-recall', '3-clip-score']) {
    assert.equal(readdirSync(join(stage, 'shards', m)).filter((f) => /^shard-.*\.json$/.test(f)).length, 3, m);
  }
});
