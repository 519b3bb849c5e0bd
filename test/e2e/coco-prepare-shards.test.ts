// Issue #17's acceptance, the two halves chained: a mini COCO-2014 val (test/helpers/mini-coco.ts, every decoding
// case) → `vsdlab datasets prepare coco2014` with the embedded perception network as the extractor → a cell whose
// evaluate section points at the prepared statistics and reference set, measured in 2 shards (`vsdlab run`) →
// `vsdlab report`; then the same generated images and the prepared caption list through `vsdlab shards run
// --shards 2` on the local pool and as a real Slurm array, against one process (`--shards 1`, `vsdlab fid`).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { writeMiniCoco, type MiniCoco } from '../helpers/mini-coco.js';
import { slurmSkip, slurmUnavailable } from '../helpers/slurm.js';
import { writeTinyWorld } from './tiny-world.js';
import type { PreparedManifest } from '../../src/prepare/index.js';

const unavailable = slurmSkip();
const extractor = fromRoot('models', 'embedded', 'perception.onnx');
// 12 captions of the GigaGAN list in evaluation batches of 5: shards of 2 batches and 1 (10 + 2 images)
const COUNT = 12;
const BATCH = 5;
const RESIZE = 'center-crop-lanczos-256';

interface Metric {
  name: string;
  value: number;
  std?: number;
  protocol: Record<string, unknown>;
}
interface Sharded {
  images: number;
  shards: number;
  fid: number;
  kid: { mean: number; std: number; subsets: number; subset_size: number; reference_rows: number };
  clip_score: { score: number; convention: string; model: string };
}

// made at the top level: a tempDir made inside a hook would be removed when the hook ends
const dir = tempDir();
let coco: MiniCoco;
let prepared: string;
/** the cell's run folder, set once `vsdlab run` has made it */
let cell = '';
let metrics: Metric[];

/** what prepare wrote that the evaluations read, and the cell's generated images */
const paths = () => ({
  stats: join(prepared, 'statistics', `${RESIZE}-clean.npz`),
  references: join(prepared, 'references', RESIZE),
  captions: join(prepared, 'captions', 'gigagan-random-30k.json'),
  images: join(cell, 'artifacts', 'generate', 'images'),
});

const experiment = (): string => `name: coco-sharded
base:
  teacher: { model: ${join(dir, 'tiny', 'teacher')} }
  distill: { enabled: false, prompts: ${join(dir, 'tiny', 'data', 'annotations', 'captions_train.json')} }
  generate: { sampler: one-step, steps: 1, num_samples: ${COUNT}, batch_size: 4 }
  evaluate:
    batch_size: ${BATCH}
    shards: 2
    captions: { annotations: ${coco.annotations}, protocol: gigagan-random-30k, caption_list: ${join(coco.root, 'annotations', 'captions_coco14_test.txt')}, count: ${COUNT} }
    metrics:
      - { name: fid, mode: clean, extractor: ${extractor}, reference: ${paths().stats} }
      - { name: kid, mode: clean, extractor: ${extractor}, reference: ${paths().references}, subsets: 4, subset_size: 6 }
      - { name: clip-score, convention: cosine-mean, prefix: "", image_encoder: ${join(dir, 'clip', 'image.onnx')}, text_encoder: ${join(dir, 'clip', 'text.onnx')}, tokenizer: ${join(dir, 'clip', 'tokenizer.json')} }
seeds: [0]
`;

/** `vsdlab shards run` over the cell's images, with the prepared caption list, the experiment's metrics and batches */
const shardsRun = (out: string, executor: 'pool' | 'slurm', shards: number): Sharded => {
  const p = paths();
  const r = vsdlab([
    'shards', 'run', join(dir, out), '--executor', executor, '--shards', String(shards), '--images', p.images, '--captions', p.captions,
    '--inception', extractor, '--fid-reference', p.stats, '--kid-reference', p.references, '--kid-subsets', '4', '--kid-subset-size', '6', '--kid-seed', '2020',
    '--clip', join(dir, 'clip'), '--clip-prefix', '', '--batch-size', String(BATCH), '--no-cache', '--json',
  ]);
  assert.equal(r.code, 0, `shards run --executor ${executor} --shards ${shards}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Sharded;
};

/** the 2-shard pool result, computed once for the pool and Slurm tests */
let poolResult: Sharded | undefined;
const pool2 = (): Sharded => (poolResult ??= shardsRun('pool', 'pool', 2));

const relativeGap = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

before(async () => {
  coco = await writeMiniCoco(join(dir, 'coco'));
  await writeTinyWorld(join(dir, 'tiny'));
  // `shards run --clip` reads a model folder: the tiny world's untrained CLIP towers under the names it expects
  mkdirSync(join(dir, 'clip'));
  copyFileSync(join(dir, 'tiny', 'clip-image.onnx'), join(dir, 'clip', 'image.onnx'));
  copyFileSync(join(dir, 'tiny', 'clip-text.onnx'), join(dir, 'clip', 'text.onnx'));
  copyFileSync(join(dir, 'tiny', 'tokenizer.json'), join(dir, 'clip', 'tokenizer.json'));

  prepared = join(dir, 'prepared');
  const prep = vsdlab(['datasets', 'prepare', 'coco2014', '--annotations', coco.annotations, '--images', coco.images, '--out', prepared,
    '--inception', extractor, '--resize', RESIZE, '--modes', 'clean', '--caption-count', String(COUNT), '--threads', '1']);
  assert.equal(prep.code, 0, prep.stderr);

  writeFileSync(join(dir, 'exp.yaml'), experiment());
  const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
  const run = vsdlab(['run', join(dir, 'exp.yaml'), '--store', join(dir, 'runs')], { env });
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  const name = readdirSync(join(dir, 'runs', 'coco-sharded'), { withFileTypes: true }).find((d) => d.isDirectory())!.name;
  cell = join(dir, 'runs', 'coco-sharded', name);
  metrics = (JSON.parse(readFileSync(join(cell, 'metrics.json'), 'utf8')) as { metrics: Metric[] }).metrics;
});

test('prepare → a cell evaluated in 2 shards against the prepared statistics and references → report, every protocol named', () => {
  const manifest = JSON.parse(readFileSync(join(prepared, 'manifest.json'), 'utf8')) as PreparedManifest;
  assert.equal(manifest.decoding.ok, coco.decodable, 'the undecodable and missing images are left out of the reference set');
  assert.deepEqual(manifest.statistics.map((s) => s.file), [`statistics/${RESIZE}-clean.npz`]);
  // the cell generated for exactly the prepared caption list, in its order: the two selections are one code path's
  const samples = (JSON.parse(readFileSync(join(cell, 'artifacts', 'generate', 'samples.json'), 'utf8')) as { samples: Array<{ index: number; caption: string }> }).samples;
  const list = (JSON.parse(readFileSync(paths().captions, 'utf8')) as { captions: Array<{ caption: string }> }).captions;
  assert.equal(list.length, COUNT);
  assert.deepEqual([...samples].sort((a, b) => a.index - b.index).map((s) => s.caption), list.map((c) => c.caption));

  assert.deepEqual(metrics.map((m) => m.name), ['fid', 'kid', 'clip-score']);
  for (const m of metrics) {
    assert.ok(Number.isFinite(m.value), JSON.stringify(m));
    assert.equal(m.protocol.dataset, manifest.dataset, `${m.name}: the dataset by the name prepare gave it`);
    assert.equal(m.protocol.captions, 'gigagan-random-30k');
    assert.equal(m.protocol.n_samples, COUNT);
  }
  for (const m of metrics.slice(0, 2)) {
    assert.equal(m.protocol.reference, manifest.dataset, `${m.name}: the prepared reference by name, not a path or hash`);
    assert.equal(m.protocol.reference_resize, RESIZE);
    assert.equal(m.protocol.resolution, 256);
    assert.equal(m.protocol.mode, 'clean');
  }
  // FID and KID really ran as 2 shard workers each, their states in the evaluate stage's work folder
  const stages = join(dir, 'runs', '.cache', 'evaluate');
  const stage = readdirSync(stages).find((d) => !d.includes('.'))!;
  for (const folder of ['0-fid', '1-kid']) {
    const states = readdirSync(join(stages, stage, 'shards', folder)).filter((f) => /^shard-\d+-of-0*2\.json$/.test(f));
    assert.equal(states.length, 2, `${folder}: ${states.join(', ')}`);
  }

  const out = join(dir, 'report');
  const report = vsdlab(['report', join(dir, 'exp.yaml'), '--store', join(dir, 'runs'), '--out', out, '--format', 'json', 'md'], { env: { VSDLAB_FEATURE_CACHE: join(dir, 'features') } });
  assert.equal(report.code, 0, report.stderr);
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { columns: Array<{ id: string; name: string; protocol: Record<string, unknown> }>; rows: Array<{ cells: Record<string, { mean: number }> }> };
  for (const m of metrics) {
    const column = json.columns.find((c) => c.name === m.name)!;
    assert.deepEqual(column.protocol, m.protocol);
    assert.equal(json.rows[0]!.cells[column.id]!.mean, m.value, `${m.name} in the report`);
  }
  const table = readFileSync(join(out, 'table.md'), 'utf8');
  assert.ok(table.includes(`reference\\_resize=${RESIZE}`), 'the protocol lines name the resize');
  // a 12-image copy is not the paper's protocol: the report says which fields differ instead of setting it beside
  assert.match(table, /n\\_samples: 30000 in the paper vs 12 in ours/);
});

test('shards run --shards 2 on the pool: the cell\'s numbers exactly, and one process\'s (shards run --shards 1, vsdlab fid)', () => {
  const pool = pool2();
  const [fid, kid, clip] = metrics as [Metric, Metric, Metric];
  assert.equal(pool.images, COUNT);
  // the same batches, the same shard cut, the same merge: the same bits as the cell's sharded evaluation
  assert.equal(pool.fid, fid.value);
  assert.equal(pool.kid.mean, kid.value);
  assert.equal(pool.kid.std, kid.std);
  assert.equal(pool.kid.reference_rows, coco.decodable);
  assert.equal(pool.clip_score.score, clip.value);

  const one = shardsRun('one', 'pool', 1);
  // KID and CLIP read the same rows and cosines in the same order; the merged covariance (Chan's pairwise update)
  // rounds differently from one stream's, held to 1e-12 of its scale by test/metrics/shards/shard-merge.test.ts
  assert.deepEqual({ kid: one.kid, clip: one.clip_score }, { kid: pool.kid, clip: pool.clip_score });
  assert.ok(relativeGap(one.fid, pool.fid) <= 1e-12, `FID one process ${one.fid} vs 2 shards ${pool.fid}`);

  const p = paths();
  const single = vsdlab(['fid', p.images, p.stats, '--mode', 'clean', '--inception', extractor, '--dims', '128', '--batch-size', String(BATCH), '--no-cache', '--json']);
  assert.equal(single.code, 0, single.stderr);
  const fidOnce = JSON.parse(single.stdout) as { fid: number; protocol: Record<string, unknown> };
  assert.ok(relativeGap(fidOnce.fid, pool.fid) <= 1e-12, `vsdlab fid ${fidOnce.fid} vs 2 shards ${pool.fid}`);
  assert.equal(fidOnce.protocol.reference_resize, RESIZE);
  assert.equal(fidOnce.protocol.reference, fid.protocol.reference);
});

test('shards run --shards 2 as a real sbatch --array job: the pool\'s numbers, bit for bit', { skip: unavailable }, () => {
  assert.equal(slurmUnavailable(), undefined, 'VSDLAB_REQUIRE_SLURM=1: a Slurm cluster must answer (.ci/slurm-up)');
  const pool = pool2();
  const slurm = shardsRun('slurm', 'slurm', 2);
  assert.deepEqual(slurm, pool);
  // the shards really ran as array tasks: one log per task, each naming its shard
  const logs = join(dir, 'slurm', 'slurm', 'logs');
  const files = readdirSync(logs).filter((f) => f.endsWith('.out')).sort();
  assert.equal(files.length, 2, `task logs: ${files.join(', ')}`);
  const text = files.map((f) => readFileSync(join(logs, f), 'utf8')).join('\n');
  assert.match(text, /shard 0\/2: done/);
  assert.match(text, /shard 1\/2: done/);
});

test('a cell\'s sharded FID with one shard lost is finished by a Slurm array task: the cell\'s number, bit for bit', { skip: unavailable }, () => {
  assert.equal(slurmUnavailable(), undefined, 'VSDLAB_REQUIRE_SLURM=1: a Slurm cluster must answer (.ci/slurm-up)');
  const stages = join(dir, 'runs', '.cache', 'evaluate');
  const stage = readdirSync(stages).find((d) => !d.includes('.'))!;
  const copy = join(dir, 'cell-fid');
  cpSync(join(stages, stage, 'shards', '0-fid'), copy, { recursive: true });
  const lost = readdirSync(copy).filter((f) => f.startsWith('shard-00001-') || f === 'result.json');
  assert.equal(lost.length, 3, lost.join(', '));
  for (const f of lost) rmSync(join(copy, f));
  // spec.json names the cell's images, extractor and reference by absolute path: any node that sees them can finish it
  const r = vsdlab(['shards', 'run', copy, '--executor', 'slurm', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 of 2 shard\(s\) to run \(slurm\)/);
  assert.equal((JSON.parse(r.stdout) as Sharded).fid, metrics[0]!.value);
  assert.equal(readdirSync(join(copy, 'slurm', 'logs')).filter((f) => f.endsWith('.out')).length, 1);
});
