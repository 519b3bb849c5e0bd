import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('vsdlab run records each cell and status reports it; --json emits NDJSON events', () => {
  const store = tempDir();
  const fixture = fromRoot('test/fixtures/config/ablation.yaml');
  // its prompts file is absent on purpose; --skip-preflight (what a Slurm array task runs with) lets the cell start and record its failure
  const r = vsdlab(['run', fixture, '--only', 'vsd-eps-s0', '--store', store, '--json', '--skip-preflight']);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; outcome?: string });
  assert.deepEqual(events.map((e) => e.event), ['run-start', 'cell-start', 'stage-start', 'cell-end', 'run-end']);
  const end = events.find((e) => e.event === 'cell-end');
  // the production stages land with their issues; whatever the outcome, it is recorded and reported
  assert.equal(r.code, end?.outcome === 'completed' ? 0 : 1);
  const runDir = join(store, 'lora-param-ablation');
  assert.ok(existsSync(join(runDir, 'manifest.json')));
  const status = vsdlab(['status', fixture, '--store', store, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const rows = JSON.parse(status.stdout).cells as Array<{ name: string; state: string }>;
  assert.equal(rows.length, 6);
  assert.equal(rows.filter((c) => c.state === 'pending').length, 5);
  const cell = rows.find((c) => c.name.startsWith('vsd-eps-s0-'));
  assert.ok(cell && cell.state !== 'pending');
  const recorded = JSON.parse(readFileSync(join(runDir, cell.name, 'status.json'), 'utf8'));
  assert.equal(recorded.state, cell.state);
  const text = vsdlab(['status', fixture, '--store', store]);
  assert.match(text.stdout, /lora-param-ablation: .*5 pending/);
});
