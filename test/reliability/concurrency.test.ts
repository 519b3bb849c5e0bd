import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { vsdlab } from '../helpers/cli.js';
import { checkStore } from './store-check.js';
import { spawnVsdlab, type RunEvent } from './spawn-vsdlab.js';
import { ensureSyntheticShapes } from '../helpers/synthetic-shapes.js';

const EXPERIMENT = 'test/fixtures/reliability/tiny-study.yaml';
// a short lock lapse, so a takeover happens in seconds (production default: 30 s)
const LAPSE = { VSDLAB_LOCK_STALE_MS: '1500' };

const ensureDataset = (): void => {
  ensureSyntheticShapes();
};

const cellFile = (store: string, prefix: string, file: string): string => {
  const root = join(store, 'tiny-study');
  const cell = readdirSync(root).find((n) => n.startsWith(prefix));
  assert.ok(cell, `${prefix} cell in ${root}`);
  return join(root, cell, file);
};

/** every (cell, stage) computed at most once, and each published stage folder by exactly one computation */
function assertComputedOnce(store: string, events: RunEvent[]): void {
  const computed = events.filter((e) => e.event === 'stage-start' && e.cached === false).map((e) => `${e.cell} ${e.stage}`);
  assert.equal(new Set(computed).size, computed.length, `a (cell, stage) computed twice: ${computed.join(', ')}`);
  for (const stage of ['distill', 'generate', 'evaluate']) {
    const dirs = readdirSync(join(store, '.cache', stage)).filter((d) => !d.endsWith('.lock') && !d.endsWith('.work'));
    assert.equal(computed.filter((c) => c.endsWith(` ${stage}`)).length, dirs.length, `${stage}: one computation per published folder`);
  }
}

async function assertStoreClean(store: string): Promise<void> {
  const problems = await checkStore(store, { finished: true });
  assert.deepEqual(problems.corrupt, []);
  assert.deepEqual(problems.leftovers, []);
}

// four cells; the two teacher cells share their distill stage
const GRID = 'test/fixtures/reliability/tiny-grid.yaml';

// each process loads the whole stack (tfjs, onnxruntime): on 2 cores the pool case alone runs in npm test, the
// others with VSDLAB_RELIABILITY_FULL=1 (RELIABILITY.md); test/exec/run-plan.test.ts has two runners on test stages
const FULL = process.env.VSDLAB_RELIABILITY_FULL === '1';
for (const [label, commands, always] of [
  ['a pool (-j 2) and a second runner', [['-j', '2'], []], true],
  ['two vsdlab run processes', [[], []], false],
  ['four vsdlab run processes', [[], [], [], []], false],
] as const) {
  const skip = always || FULL ? false : 'set VSDLAB_RELIABILITY_FULL=1 to run it (a minute on 2 cores)';
  test(`${label} on one experiment: every cell completes, no cell or stage is computed twice, the store reads back whole`, { skip }, async () => {
    ensureSyntheticShapes();
    const dir = tempDir();
    const store = join(dir, 'runs');
    const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
    const runs = commands.map((extra) => spawnVsdlab(['run', GRID, '--store', store, '--json', ...extra], env));
    const exits = await Promise.all(runs.map((r) => r.exit));
    assert.deepEqual(exits.map((e) => e.code), commands.map(() => 0), exits.map((e) => e.stderr).join('\n'));
    assertComputedOnce(store, runs.flatMap((r) => r.events));
    const status = JSON.parse(vsdlab(['status', GRID, '--store', store, '--json']).stdout) as { cells: Array<{ state: string }> };
    assert.deepEqual(status.cells.map((c) => c.state), ['completed', 'completed', 'completed', 'completed']);
    await assertStoreClean(store);
  });
}

test('a runner paused (SIGSTOP) past its lock lapse is taken over, and when it wakes (SIGCONT) it writes nothing over its successor', async () => {
  ensureSyntheticShapes();
  const dir = tempDir();
  const steps = ['--set', 'distill.steps=6'];
  const env = { ...LAPSE, VSDLAB_FEATURE_CACHE: join(dir, 'features') };
  const reference = vsdlab(['run', EXPERIMENT, '--store', join(dir, 'reference'), '--json', ...steps], { env });
  assert.equal(reference.code, 0, reference.stderr);

  const store = join(dir, 'runs');
  const first = spawnVsdlab(['run', EXPERIMENT, '--store', store, '--json', ...steps], env);
  await first.waitFor((e) => e.event === 'progress' && e.stage === 'distill');
  first.child.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 2500));
  const second = spawnVsdlab(['run', EXPERIMENT, '--store', store, '--json', ...steps], env);
  await second.waitFor((e) => e.event === 'progress' && e.stage === 'distill');
  first.child.kill('SIGCONT'); // wakes while its successor trains in the same work folder
  const [a, b] = await Promise.all([first.exit, second.exit]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(a.code, 0, a.stderr);

  const vsdEnd = first.events.find((e) => e.event === 'cell-end' && e.cell?.startsWith('vsd-eps-'));
  assert.equal(vsdEnd?.outcome, 'skipped-running-elsewhere', 'the woken runner gives the cell up');
  assert.ok(!first.events.some((e) => e.event === 'stage-end' && e.cell?.startsWith('vsd-eps-') && e.cached === false), 'the woken runner published no stage');
  const status = JSON.parse(readFileSync(cellFile(store, 'vsd-eps-', 'status.json'), 'utf8')) as { state: string; pid: number };
  assert.equal(status.state, 'completed');
  assert.equal(status.pid, second.child.pid, 'status.json is the successor\'s');
  assert.equal(readFileSync(cellFile(store, 'vsd-eps-', 'metrics.json'), 'utf8'), readFileSync(cellFile(join(dir, 'reference'), 'vsd-eps-', 'metrics.json'), 'utf8'), 'metrics equal an uninterrupted run');
  assertComputedOnce(store, [...first.events, ...second.events].filter((e) => !(e.event === 'stage-start' && e.cell?.startsWith('vsd-eps-') && e.stage === 'distill' && first.events.includes(e))));
  await assertStoreClean(store);
});
