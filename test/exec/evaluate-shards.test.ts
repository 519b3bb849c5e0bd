import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { writeTinyWorld } from '../e2e/tiny-world.js';

const experiment = (dir: string): string => `name: sharded
base:
  teacher: { model: ${join(dir, 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'data/annotations/captions_train.json')} }
  generate: { sampler: one-step, steps: 1, num_samples: 24, batch_size: 8 }
  evaluate:
    batch_size: 5
    captions: { annotations: ${join(dir, 'data/annotations/captions_val.json')}, protocol: random-n, count: 24, seed: 0 }
    metrics:
      - { name: fid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')} }
      - { name: kid, mode: clean, extractor: ${join(dir, 'perception.onnx')}, reference: ${join(dir, 'data/val')}, subsets: 5, subset_size: 6 }
seeds: [0]
`;

interface Metric {
  name: string;
  value: number;
  protocol: Record<string, unknown>;
}

test('evaluate.shards: FID and KID of a cell measured by shard worker processes equal the one-process numbers, with the same cell id', async () => {
  const dir = tempDir();
  await writeTinyWorld(dir);
  writeFileSync(join(dir, 'exp.yaml'), experiment(dir));
  const metrics = (store: string, set: string[]): { cell: string; metrics: Metric[] } => {
    const r = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, store), ...set], { env: { VSDLAB_FEATURE_CACHE: join(dir, `features-${store}`) } });
    assert.equal(r.code, 0, r.stderr);
    const cell = readdirSync(join(dir, store, 'sharded'), { withFileTypes: true }).find((d) => d.isDirectory())!.name;
    return { cell, metrics: (JSON.parse(readFileSync(join(dir, store, 'sharded', cell, 'metrics.json'), 'utf8')) as { metrics: Metric[] }).metrics };
  };
  const one = metrics('one', []);
  const sharded = metrics('sharded', ['--set', 'evaluate.shards=3']);
  assert.equal(sharded.cell, one.cell, 'the shard count is operational: the cell keeps its id');
  assert.deepEqual(sharded.metrics.map((m) => m.name), ['fid', 'kid']);
  const [fidS, kidS] = sharded.metrics as [Metric, Metric];
  const [fid1, kid1] = one.metrics as [Metric, Metric];
  assert.ok(Math.abs(fidS.value - fid1.value) <= 1e-9 * Math.max(1, fid1.value), `FID ${fidS.value} vs ${fid1.value}`);
  assert.deepEqual({ ...fidS, value: 0 }, { ...fid1, value: 0 });
  assert.deepEqual(kidS, kid1);
  // the work really was sharded: three shard states per metric in the stage's folder
  const stage = readdirSync(join(dir, 'sharded', '.cache', 'evaluate')).find((d) => !d.includes('.'))!;
  const states = readdirSync(join(dir, 'sharded', '.cache', 'evaluate', stage, 'shards', '0-fid')).filter((f) => /^shard-.*\.json$/.test(f));
  assert.equal(states.length, 3);
});
