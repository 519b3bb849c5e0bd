import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';
import { parseProgressEvent } from '../../src/exec/progress-event.js';
import { jsonReporter } from '../../src/exec/reporters/json.js';
import { tempDir } from '../helpers/temp.js';

const EXP = 'name: events\nbase:\n  teacher: { model: no-teacher }\n  distill: { prompts: no-prompts.txt }\nseeds: [0]\n';

test('every line the json reporter writes parses back as the event it is', async () => {
  const dir = tempDir({ 'exp.yaml': EXP });
  const plan = await planExperiment(join(dir, 'exp.yaml'), { hashAsset: async () => 'h' });
  const cell = plan.cells[0]!;
  const lines: string[] = [];
  const r = jsonReporter((l) => lines.push(l), 0);
  const summary = { cell, outcome: 'failed' as const, runDir: '/r', seconds: 2, error: 'boom' };
  r.onRunStart?.(plan, plan.cells);
  r.onCellStart?.(cell, '/r', 1);
  r.onStageStart?.(cell, 'distill', false);
  r.onProgress?.(cell, 'distill', 1, 4);
  r.onStageEnd?.(cell, 'distill', 1.5, false);
  r.onCellEnd?.(summary);
  r.onRunEnd?.([summary]);
  const events = lines.map(parseProgressEvent);
  assert.deepEqual(events.map((e) => e?.event), ['run-start', 'cell-start', 'stage-start', 'progress', 'stage-end', 'cell-end', 'run-end']);
  assert.deepEqual(events.map((e, i) => e && JSON.stringify(e)), lines, 'parsing keeps every field, in order');
});

test('what is not an event is left out', () => {
  for (const line of ['', 'tfjs: hello', '{"event":"progress"}', '{"event":"cell-end","time":"t","cell":"c","outcome":"odd","run_dir":"","seconds":0}', '[1]']) {
    assert.equal(parseProgressEvent(line), undefined, line);
  }
});
