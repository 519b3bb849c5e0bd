// The shared folders' sweep (issue 18): a write killed by SIGKILL leaves its hidden temp file in the feature cache
// or a report folder, where another process may be writing now. The next writer there takes the temp files whose
// writer is dead on this host and keeps a live writer's (the rule: src/util/atomic-write.ts sweepStaleTempFiles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FeatureCache } from '../../src/metrics/feature-cache/index.js';
import { buildReport } from '../../src/report/build-report.js';
import { writeReport } from '../../src/report/write-report.js';
import { tempNameOf, tempOwnerOf } from '../../src/util/atomic-write.js';
import { planExperiment } from '../../src/plan/plan.js';
import { runPlan } from '../../src/exec/run-plan.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { testStages } from '../helpers/test-stages.js';
import { writeMiniCoco } from '../helpers/mini-coco.js';
import { vsdlab } from '../helpers/cli.js';

const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
const temps = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => tempOwnerOf(n)).sort() : []);
const hex = (c: string): string => c.repeat(64);

test('feature cache: entries killed mid-write in another process are swept by the next write into their folder; a live writer\'s are kept', async () => {
  const dir = tempDir();
  const key = { imageSha256: hex('a'), extractorSha256: hex('e'), mode: 'clean', output: 'pool' };
  // a real writer killed while writing entries: features of 256 Ki floats, written without pause
  const script = `
    const { FeatureCache } = await import(${JSON.stringify(fromRoot('dist/src/metrics/feature-cache/index.js'))});
    const cache = new FeatureCache(${JSON.stringify(dir)});
    const f = new Float32Array(1 << 18);
    for (let i = 0; ; i++) { await cache.put({ ...${JSON.stringify(key)}, imageSha256: 'aa' + (i % 1000).toString(16).padStart(62, '0') }, f); process.stdout.write('.'); }
  `;
  const leaf = dirname(new FeatureCache(dir).pathOf(key));
  let left: string[] = [];
  for (let attempt = 0; attempt < 10 && left.length === 0; attempt++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    // once it is writing (its first entry is in), at a moment that differs per attempt
    await new Promise((r) => child.stdout.once('data', r));
    await new Promise((r) => setTimeout(r, 3 + 7 * attempt));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    left = temps(leaf);
  }
  assert.ok(left.length > 0, 'a kill mid-write left a temp file (the case the sweep is for)');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const liveTemp = tempNameOf(join(leaf, `${hex('b')}.f32`), undefined, live.pid);
    writeFileSync(liveTemp, 'being written');
    // another leaf holds a dead writer's file too: only a folder written into is swept (no walk of the whole cache)
    const otherLeaf = join(dirname(leaf), 'cd');
    mkdirSync(otherLeaf, { recursive: true });
    const elsewhere = tempNameOf(join(otherLeaf, `${hex('c')}.f32`), undefined, deadPid());
    writeFileSync(elsewhere, 'torn');
    const cache = new FeatureCache(dir);
    await cache.put(key, new Float32Array([1, 2, 3]));
    assert.deepEqual(temps(leaf), [liveTemp.slice(leaf.length + 1)]);
    assert.deepEqual(cache.get(key, 3), new Float32Array([1, 2, 3]));
    assert.equal(temps(otherLeaf).length, 1);
  } finally {
    live.kill('SIGKILL');
  }
});

test('report folder: a report written again sweeps the temp files of killed report writers, at any depth, and keeps a live writer\'s', async () => {
  const out = tempDir();
  mkdirSync(join(out, 'charts'));
  const dead = deadPid();
  const torn = [tempNameOf(join(out, 'table.md'), undefined, dead), tempNameOf(join(out, 'charts', 'fid.svg'), undefined, dead)];
  for (const f of torn) writeFileSync(f, 'torn');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const liveTemp = tempNameOf(join(out, 'table.tex'), undefined, live.pid);
    writeFileSync(liveTemp, 'being written');
    const report = buildReport(
      { experiment: 'e', description: 'd', varyingKeys: [], runs: [], notes: [] },
      { source: { kind: 'runs', dirs: ['/r'] }, aggregation: { kind: 'mean_std', ci: null }, references: [], generated: 't', title: 't' },
    );
    await writeReport(report, out, ['md']);
    assert.deepEqual(temps(out), [liveTemp.slice(out.length + 1)]);
    assert.ok(readdirSync(out).includes('table.md'));
    assert.deepEqual(temps(join(out, 'charts')), []);
  } finally {
    live.kill('SIGKILL');
  }
});

test('run store: a runner that takes a cell sweeps its folder of temp files left by a killed runner (status.json, stages.json), not a live one\'s', async () => {
  const dir = tempDir({ 'exp.yaml': 'name: sweep\nbase:\n  distill: { steps: 2 }\nseeds: [0]\n' });
  const store = new RunStore(join(dir, 'runs'));
  const stages = testStages({ journal: join(dir, 'journal') });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h', allowOutsideWorkspace: true });
  const [first] = await runPlan(plan, { store, stages });
  const runDir = first!.runDir;
  const dead = deadPid();
  const torn = [tempNameOf(join(runDir, 'stages.json'), undefined, dead), tempNameOf(join(runDir, 'status.json'), undefined, dead)];
  for (const f of torn) writeFileSync(f, '{"torn');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const liveTemp = tempNameOf(join(runDir, 'status.json'), undefined, live.pid);
    writeFileSync(liveTemp, '{"being written');
    // a completed cell is not taken (nothing is written there): its folder is left as it is
    const [cached] = await runPlan(plan, { store, stages });
    assert.equal(cached!.outcome, 'cached');
    assert.equal(temps(runDir).length, 3);
    const [again] = await runPlan(plan, { store, stages, force: true });
    assert.equal(again!.outcome, 'completed');
    assert.deepEqual(temps(runDir), [liveTemp.slice(runDir.length + 1)]);
  } finally {
    live.kill('SIGKILL');
  }
});

test('prepared COCO folder: the merge sweeps dead writers\' temp files at any depth (references, block records, the root), not a live one\'s', async () => {
  const dir = tempDir();
  const coco = await writeMiniCoco(join(dir, 'coco'));
  const out = join(dir, 'prepared');
  const prepare = (): void => {
    const r = vsdlab(['datasets', 'prepare', 'coco2014', '--annotations', coco.annotations, '--images', coco.images, '--out', out, '--resize', 'center-crop-lanczos-256', '--caption-count', '12', '--block-size', '8', '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
  };
  prepare();
  const dead = deadPid();
  const refs = join(out, 'references', 'center-crop-lanczos-256');
  const torn = [
    tempNameOf(join(refs, 'COCO_val2014_000000000042.png'), undefined, dead),
    tempNameOf(join(out, 'work', 'blocks', '000001.json'), undefined, dead),
    tempNameOf(join(out, 'manifest.json'), undefined, dead),
  ];
  for (const f of torn) writeFileSync(f, 'torn');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const liveTemp = tempNameOf(join(refs, 'COCO_val2014_000000000073.png'), undefined, live.pid);
    writeFileSync(liveTemp, 'being written by a shard');
    prepare();
    assert.deepEqual(temps(refs), [liveTemp.slice(refs.length + 1)]);
    assert.deepEqual(temps(join(out, 'work', 'blocks')), []);
    assert.deepEqual(temps(out), []);
  } finally {
    live.kill('SIGKILL');
  }
});
