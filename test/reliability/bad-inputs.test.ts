// One catalogue of bad inputs (issue 18): each answer is exit 2 (or the named code) with a message naming the file
// and the line, key or image, and no stack trace. Cases checked elsewhere are listed at the end with their tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { crc32 } from '../../src/metrics/stats/zip-archive.js';
import { encodeNpz } from '../../src/metrics/stats/npz-stats.js';
import { parseCaptionList } from '../../src/data/caption-list.js';
import { loadSafetensors, saveSafetensors } from '../../src/weights/safetensors.js';
import { FeatureCache } from '../../src/metrics/feature-cache/feature-cache.js';
import { BadInputError } from '../../src/errors.js';

const PERCEPTION = ['--inception', 'models/embedded/perception.onnx', '--dims', '128', '--no-cache'];

/** a PNG whose header says `w`×`h` pixels, whatever its data holds */
function pngDeclaring(w: number, h: number, data: Uint8Array = new Uint8Array(1000)): Buffer {
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([len, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(data)), chunk('IEND', new Uint8Array())]);
}

/** a folder of four good images from the dataset, plus `extra` files */
function imageFolder(dir: string, extra: Record<string, Uint8Array | string>): string {
  const folder = join(dir, 'images');
  mkdirSync(folder, { recursive: true });
  const val = fromRoot('data/synthetic-shapes/val');
  for (const f of readdirSync(val).filter((n) => n.endsWith('.png')).slice(0, 4)) copyFileSync(join(val, f), join(folder, f));
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(folder, name), content);
  return folder;
}

interface CliCase {
  name: string;
  /** files to write (path → content) and the argv, given the temp folder */
  args: (dir: string) => string[];
  files?: Record<string, string>;
  code?: number;
  /** the message must match: it names the file and the line, key or image */
  message: (dir: string) => RegExp;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const good = readFileSync(fromRoot('data/synthetic-shapes/val', readdirSync(fromRoot('data/synthetic-shapes/val')).find((n) => n.endsWith('.png'))!));

const CASES: CliCase[] = [
  { name: 'malformed YAML', files: { 'e.yaml': 'name: e\nbase: [unclosed\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: (d) => new RegExp(`${esc(join(d, 'e.yaml'))}:\\d+`) },
  { name: 'an unknown key', files: { 'e.yaml': 'name: e\nbase:\n  distill:\n    stepz: 3\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: (d) => new RegExp(`${esc(join(d, 'e.yaml'))}:4\\s+distill\\.stepz\\s+unknown key`) },
  { name: 'a wrong type', files: { 'e.yaml': 'name: e\nbase:\n  distill:\n    steps: many\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: (d) => new RegExp(`${esc(join(d, 'e.yaml'))}:4\\s+distill\\.steps\\s+.*number`) },
  { name: 'an empty grid', files: { 'e.yaml': 'name: e\nmatrix:\n  distill.steps: []\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: (d) => new RegExp(`${esc(join(d, 'e.yaml'))}:3\\s+matrix\\.distill\\.steps\\s+an empty list`) },
  { name: 'duplicate cells', files: { 'e.yaml': 'name: e\nmatrix:\n  distill.steps: [3, 3]\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: () => /cell 2 resolves to the same config as cell 1/ },
  { name: 'an `extends` cycle', files: { 'a.yaml': 'name: a\nextends: b.yaml\n', 'b.yaml': 'name: b\nextends: a.yaml\n' }, args: (d) => ['plan', join(d, 'a.yaml')], message: () => /a\.yaml: `extends` forms a cycle: .*a\.yaml → .*b\.yaml → .*a\.yaml/ },
  { name: 'an alias to no anchor (YAML)', files: { 'e.yaml': 'name: *nothing\n' }, args: (d) => ['plan', join(d, 'e.yaml')], message: (d) => new RegExp(`${esc(join(d, 'e.yaml'))}.*Unresolved alias`) },
  // `vsdlab run` lists every missing asset before it starts a cell
  { name: 'a missing asset', files: { 'e.yaml': 'name: e\nbase:\n  teacher:\n    model: no/such/teacher\n' }, args: (d) => ['run', join(d, 'e.yaml'), '--store', join(d, 'runs'), '--reporter', 'plain'], message: () => /missing; nothing was started:\n\s+no\/such\/teacher\s+teacher\.model/ },
  { name: 'an ONNX extractor with the wrong inputs', args: (d) => ['fid', imageFolder(d, {}), imageFolder(d, {}), '--inception', 'models/embedded/clip-text.onnx', '--dims', '128', '--no-cache'], message: () => /models\/embedded\/clip-text\.onnx: input input_ids must be N x C x H x W/ },
  { name: 'a zero-byte file in an image folder', args: (d) => ['fid', imageFolder(d, { 'zero.png': '' }), fromRoot('data/synthetic-shapes/val'), ...PERCEPTION], message: (d) => new RegExp(`${esc(join(d, 'images', 'zero.png'))}`) },
  { name: 'a truncated PNG in an image folder', args: (d) => ['fid', imageFolder(d, { 'cut.png': good.subarray(0, Math.floor(good.length / 2)) }), fromRoot('data/synthetic-shapes/val'), ...PERCEPTION], message: (d) => new RegExp(`${esc(join(d, 'images', 'cut.png'))}`) },
  { name: 'a text file named .png in an image folder', args: (d) => ['fid', imageFolder(d, { 'notes.png': 'not an image\n' }), fromRoot('data/synthetic-shapes/val'), ...PERCEPTION], message: (d) => new RegExp(`${esc(join(d, 'images', 'notes.png'))}`) },
  { name: 'a decompression-bomb PNG (100000×100000 declared, 1 KB file): refused before allocating', args: (d) => ['fid', imageFolder(d, { 'bomb.png': pngDeclaring(100_000, 100_000) }), fromRoot('data/synthetic-shapes/val'), ...PERCEPTION], message: (d) => new RegExp(`image ${esc(join(d, 'images', 'bomb.png'))} declares 100000×100000 pixels`) },
  { name: '.npz statistics with the wrong shapes', args: (d) => { const f = join(d, 'stats.npz'); writeFileSync(f, encodeNpz({ mu: { data: new Float64Array(3), shape: [3] }, sigma: { data: new Float64Array(4), shape: [2, 2] } })); return ['fid', f, f, '--dims', '3']; }, message: (d) => new RegExp(`${esc(join(d, 'stats.npz'))}: mu has shape \\(3\\) and sigma \\(2, 2\\)`) },
  { name: 'a damaged .npz (bytes overwritten)', args: (d) => { const f = join(d, 'stats.npz'); const b = encodeNpz({ mu: { data: new Float64Array(3), shape: [3] }, sigma: { data: new Float64Array(9), shape: [3, 3] } }); b.fill(7, 40, 80); writeFileSync(f, b); return ['fid', f, f, '--dims', '3']; }, message: (d) => new RegExp(esc(join(d, 'stats.npz'))) },
];

for (const c of CASES) {
  test(`bad input: ${c.name} → exit ${c.code ?? 2}, one message naming it, no stack trace`, () => {
    const dir = tempDir(c.files ?? {});
    const r = vsdlab(c.args(dir));
    assert.equal(r.code, c.code ?? 2, `${r.stdout}\n${r.stderr}`);
    assert.match(`${r.stderr}${r.stdout}`, c.message(dir));
    if ((c.code ?? 2) === 2) assert.ok(r.stderr.startsWith('vsdlab: '), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+:\d+/, 'no stack trace');
    assert.doesNotMatch(r.stderr, /internal error/);
  });
}

test('bad input: captions that are not UTF-8, or an empty caption line, name the file (and line)', () => {
  const latin1 = Buffer.from('a red circle\ncaf\xe9 au lait\n', 'latin1');
  assert.throws(() => parseCaptionList(latin1, 'captions.txt'), (e: unknown) => e instanceof BadInputError && e.code === 'CAPTION_LIST_ENCODING' && e.message === 'captions.txt: not UTF-8 text');
  assert.throws(() => parseCaptionList(Buffer.from('a red circle\n\na blue square\n'), 'captions.txt'), /captions\.txt:2: empty caption line/);
  assert.deepEqual(parseCaptionList(Buffer.from('\ufeffa red circle\n'), 'bom.txt').captions, ['a red circle'], 'a BOM is not a caption character');
});

test('bad input: a checkpoint whose data was damaged fails its checksum instead of loading as weights', async () => {
  const path = join(tempDir(), 'checkpoint-1.safetensors');
  await saveSafetensors(path, { w: tf.tensor1d([1, 2, 3, 4]) }, { step: '1' });
  const bytes = readFileSync(path);
  bytes[bytes.length - 2]! ^= 0x40; // a flipped bit in the last float: the file still parses
  writeFileSync(path, bytes);
  assert.throws(() => loadSafetensors(path), (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_CHECKSUM' && e.message.startsWith(path));
});

test('bad input: a damaged feature-cache entry is a miss (recomputed), never read as features', async () => {
  const cache = new FeatureCache(tempDir());
  const key = { imageSha256: 'a'.repeat(64), extractorSha256: 'b'.repeat(64), mode: 'clean', output: 'pool' };
  await cache.put(key, Float32Array.from([1, 2, 3]));
  assert.deepEqual(Array.from(cache.get(key, 3) ?? []), [1, 2, 3]);
  const path = cache.pathOf(key);
  const bytes = readFileSync(path);
  bytes[1]! ^= 0x01; // same length, different value
  writeFileSync(path, bytes);
  assert.equal(cache.get(key, 3), undefined);
  assert.equal(cache.get(key, 4), undefined, 'another length is a miss too');
});

test('bad input: a learning rate that makes training diverge stops the cell naming the step and the value (exit 1, a failure, not bad input)', () => {
  const dir = tempDir();
  const store = join(dir, 'runs');
  const r = vsdlab(['run', 'test/fixtures/reliability/tiny-study.yaml', '--store', store, '--only', 'vsd-eps', '--set', 'distill.student.learning_rate=1e30', '--set', 'distill.lora_teacher.learning_rate=1e30', '--reporter', 'plain'], { env: { VSDLAB_FEATURE_CACHE: join(dir, 'features') } });
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  const root = join(store, 'tiny-study');
  const cell = readdirSync(root).find((n) => n.startsWith('vsd-eps-'))!;
  const status = JSON.parse(readFileSync(join(root, cell, 'status.json'), 'utf8')) as { state: string; error: { code: string; message: string; stage: string } };
  assert.equal(status.state, 'failed');
  assert.equal(status.error.code, 'DISTILL_NON_FINITE');
  assert.equal(status.error.stage, 'distill');
  assert.match(status.error.message, /^step \d+: \S.* is (NaN|-?Infinity); training stopped/);
});

// elsewhere: a truncated safetensors file (test/weights/safetensors.test.ts), a UNet tensor of the wrong shape
// (test/models/sd), a missing experiment file (test/util/yaml-file.test.ts), unknown --only cells
// (test/exec/run-plan.test.ts), damaged readers of every kind under fuzzing (test/reliability/fuzz.test.ts),
// asset paths and command folders outside the workspace (test/plan/workspace.test.ts)
