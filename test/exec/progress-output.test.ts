// Progress of every long command: plain lines for logs and pipes, NDJSON events with --json, one schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { progressEventSchema, parseProgressEvent } from '../../src/exec/progress-event.js';
import { progressSink } from '../../src/exec/progress.js';
import { jsonReporter } from '../../src/exec/reporters/json.js';
import { plainReporter } from '../../src/exec/reporters/plain.js';
import { progressThrottle } from '../../src/exec/reporters/throttle.js';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';

const golden = fromRoot('test', 'golden', 'metrics-peer');
const A = join(golden, 'images', 'a');
const B = join(golden, 'images', 'b');
const model = join(golden, 'inception-w32.onnx');
const fid = (...extra: string[]): string[] => ['fid', A, B, '--inception', model, '--dims', '64', '--threads', '1', '--no-cache', '--batch-size', '16', ...extra];

test('a log gets a line every N seconds or every tenth, whichever comes first, and always the last', () => {
  const slow = progressThrottle(10_000);
  // 100 units, one per 100 ms: the tenths (every second) win over the 10 s period
  const at = Array.from({ length: 101 }, (_, i) => i).filter((i) => slow.due(i, 100, i * 100));
  assert.deepEqual(at, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  const long = progressThrottle(10_000);
  // 1000 units, one per second: the 10 s period wins over the tenths (every 100 s)
  const lines = Array.from({ length: 1001 }, (_, i) => i).filter((i) => long.due(i, 1000, i * 1000));
  assert.equal(lines.length, 101);
  assert.deepEqual(lines.slice(0, 3), [0, 10, 20]);
  const burst = progressThrottle(10_000);
  // tenths that pass within a second of each other are not each a line; the last always is
  assert.deepEqual([0, 1, 2, 3, 10].filter((i) => burst.due(i, 10, 5 * i)), [0, 10]);
});

test('plain task lines say done/total, percentage, elapsed, eta and rate; the end line says the total time', () => {
  const lines: string[] = [];
  const progress = progressSink(plainReporter((l) => lines.push(l), 0));
  const task = progress.task('features', 'gen/', 4, 'images');
  for (let i = 1; i <= 4; i++) task.tick();
  task.end();
  progress.note('skipped 1 unreadable image(s) in gen/:');
  assert.equal(lines.length, 5, lines.join('\n'));
  assert.match(lines[0]!, /^features gen\/: 1\/4 images \(25%\) \d+s/);
  assert.match(lines[3]!, /^features gen\/: 4\/4 images in \d+s/);
  assert.equal(lines[4], 'skipped 1 unreadable image(s) in gen/:');
  const stopped: string[] = [];
  const early = progressSink(plainReporter((l) => stopped.push(l), 0)).task('sample', 'out/', 10, 'images');
  early.update(3);
  early.end();
  early.update(4);
  assert.match(stopped.at(-1)!, /^sample out\/: stopped at 3\/10 images/);
});

test('json task events follow the fixed schema, progress at most once a second but always the last', () => {
  const lines: string[] = [];
  const progress = progressSink(jsonReporter((l) => lines.push(l), 1000));
  const task = progress.task('clip-score', 'images/', 3, 'images');
  task.update(1);
  task.update(2);
  task.update(3);
  task.end();
  progress.note('warning: x');
  const events = lines.map((l) => progressEventSchema.parse(JSON.parse(l)));
  assert.deepEqual(events.map((e) => e.event), ['task-start', 'task-progress', 'task-progress', 'task-end', 'note']);
  const last = events[2]!;
  assert.ok(last.event === 'task-progress' && last.done === 3 && last.total === 3 && last.eta_s === 0 && last.unit === 'images');
  assert.deepEqual(Object.keys(last), ['event', 'time', 'task', 'label', 'done', 'total', 'unit', 'rate', 'eta_s']);
});

test('vsdlab fid through a pipe: plain progress lines per folder on stderr, the result alone on stdout', () => {
  const r = vsdlab(fid(), { env: { VSDLAB_PROGRESS_SECONDS: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^FID: {2}\d/);
  for (const folder of [A, B]) {
    assert.match(r.stderr, new RegExp(`^features ${folder}: 16/80 images \\(20%\\)`, 'm'));
    assert.match(r.stderr, new RegExp(`^features ${folder}: 80/80 images in `, 'm'));
  }
  assert.doesNotMatch(r.stderr, /\x1b\[/, 'no terminal control codes in a log');
});

test('vsdlab fid --json: every stderr line is an NDJSON event of the schema, stdout is the result', () => {
  const r = vsdlab(fid('--json'), { env: { VSDLAB_PROGRESS_SECONDS: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(typeof JSON.parse(r.stdout).fid, 'number');
  const lines = r.stderr.trim().split('\n');
  const events = lines.map(parseProgressEvent);
  assert.ok(events.every((e) => e !== undefined), r.stderr);
  const ends = events.filter((e) => e?.event === 'task-end');
  assert.deepEqual(ends.map((e) => e?.event === 'task-end' && [e.label, e.done, e.total]), [[A, 80, 80], [B, 80, 80]]);
  const none = vsdlab(fid('--progress', 'none'));
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stderr, '');
});

test('vsdlab kid and clip-score report their images the same way', () => {
  const kid = vsdlab(['kid', A, B, '--inception', model, '--threads', '1', '--no-cache', '--subsets', '2', '--subset-size', '10', '--json'], { env: { VSDLAB_PROGRESS_SECONDS: '0' } });
  assert.equal(kid.code, 0, kid.stderr);
  assert.deepEqual(kid.stderr.trim().split('\n').map(parseProgressEvent).filter((e) => e?.event === 'task-end').map((e) => e?.event === 'task-end' && e.label), [A, B]);
  const clip = join(golden, 'clip');
  const r = vsdlab(['clip-score', join(clip, 'images'), join(clip, 'captions.txt'), '--clip', clip, '--no-cache', '--threads', '1', '--batch-size', '4'], { env: { VSDLAB_PROGRESS_SECONDS: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^clip-score ${join(clip, 'images')}: 4/6 images \\(66%\\)`, 'm'));
  assert.match(r.stderr, new RegExp(`^clip-score ${join(clip, 'images')}: 6/6 images in `, 'm'));
});
