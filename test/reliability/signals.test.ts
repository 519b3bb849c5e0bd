import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { vsdlab } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/cli/exit-codes.js';
import { ensureSyntheticShapes } from '../helpers/synthetic-shapes.js';

const EXPERIMENT = 'test/fixtures/reliability/tiny-study.yaml';

/** `vsdlab run --json`, sent `signal` when the first training step is reported */
function runAndSignal(store: string, env: Record<string, string>, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), 'run', EXPERIMENT, '--store', store, '--json'], { cwd: fromRoot(), env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let sent = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!sent && (JSON.parse(line) as { event: string }).event === 'progress') {
        sent = true;
        child.kill(signal);
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const cellStatus = (store: string, prefix: string): { state: string; error: { code: string } | null } => {
  const root = join(store, 'tiny-study');
  const cell = readdirSync(root).find((n) => n.startsWith(prefix));
  assert.ok(cell, `a ${prefix} cell folder in ${root}`);
  return JSON.parse(readFileSync(join(root, cell, 'status.json'), 'utf8'));
};

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops vsdlab run cleanly: exit 130 (not 1), the cell recorded as interrupted, one line on stderr, and a re-run resumes it`, async () => {
    ensureSyntheticShapes();
    const dir = tempDir();
    const store = join(dir, 'runs');
    const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
    const stopped = await runAndSignal(store, env, signal);
    assert.equal(stopped.code, EXIT_CODES.interrupted);
    assert.notEqual(EXIT_CODES.interrupted, EXIT_CODES.failure);
    assert.doesNotMatch(stopped.stderr, /\n\s+at /, 'no stack trace');
    const status = cellStatus(store, 'vsd-eps-');
    assert.equal(status.state, 'interrupted');
    assert.equal(status.error?.code, 'INTERRUPTED');
    if (signal === 'SIGINT') return; // one re-run is enough to show the interrupted state resumes
    const again = vsdlab(['run', EXPERIMENT, '--store', store, '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(cellStatus(store, 'vsd-eps-').state, 'completed');
    const stages = JSON.parse(readFileSync(join(store, 'tiny-study', readdirSync(join(store, 'tiny-study')).find((n) => n.startsWith('vsd-eps-'))!, 'stages.json'), 'utf8'));
    assert.ok(stages.distill.result.started_from >= 1, `resumed from the checkpoint of step ${stages.distill.result.started_from}`);
  });
}
