// `vsdlab datasets prepare coco2014` end to end on the mini COCO-2014 (test/helpers/mini-coco.ts): validation
// findings by name, every decoding case as Pillow's convert('RGB') handles it (pixels against PIL 9.4 goldens),
// caption subsets, statistics equal to `vsdlab fid --save-stats` on the reference folder, resume after SIGKILL
// and shards + merge, each giving the same bytes as one uninterrupted run.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { sha256 } from '../../src/util/hash.js';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { MINI_COCO_CASES, MINI_COCO_UNLISTED, cocoFileName, writeMiniCoco, type MiniCoco } from '../helpers/mini-coco.js';
import type { PreparedManifest } from '../../src/prepare/index.js';

const inception = fromRoot('test', 'golden', 'metrics-peer', 'inception-w32.onnx');
const golden = JSON.parse(readFileSync(fromRoot('test', 'golden', 'coco-prepare', 'pil-references.json'), 'utf8')) as {
  images: Record<string, { source_sha256: string; '256': string; '512': string }>;
  unreadable: Array<{ file_name: string }>;
};

let coco: MiniCoco;
let whole: string;
let wholeRun: ReturnType<typeof vsdlab>;

const args = (out: string, ...more: string[]): string[] => [
  'datasets', 'prepare', 'coco2014', '--annotations', coco.annotations, '--images', coco.images, '--out', out,
  '--caption-count', '10', '--block-size', '3', '--inception', inception, '--threads', '1', '--modes', 'clean,legacy-tensorflow', ...more,
];

/** every output file but the work folder, path → bytes hash */
function outputs(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (relative(dir, p) !== 'work') walk(p);
      } else files.set(relative(dir, p), sha256(readFileSync(p)));
    }
  };
  walk(dir);
  return files;
}

const manifestOf = (dir: string): PreparedManifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PreparedManifest;

// made at the top level: a tempDir made inside a hook would be removed when the hook ends
const cocoDir = tempDir();
const wholeDir = tempDir();

before(async () => {
  coco = await writeMiniCoco(cocoDir);
  whole = join(wholeDir, 'prepared');
  wholeRun = vsdlab(args(whole, '--json'));
});

test('the mini COCO is generated as the goldens were made from it (else regenerate them: see make_pil_references.py)', () => {
  for (const [name, g] of Object.entries(golden.images)) assert.equal(sha256(readFileSync(join(coco.images, name))), g.source_sha256, name);
});

test('prepare names every count difference, missing and unlisted file, and skips what cannot be decoded, by name', () => {
  assert.equal(wholeRun.code, 0, wholeRun.stderr);
  // --json: the result on stdout, progress and warnings as NDJSON events on stderr (exec/progress-event.ts)
  const lines = wholeRun.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const events = wholeRun.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const warnings = events.filter((l) => l.event === 'note').map((l) => (l.message as string).replace(/^warning: /, ''));
  assert.ok(warnings.some((w) => w.includes(`lists ${coco.imageCount} images; the official COCO-2014 val release has 40,504`)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(`has ${coco.captionCount} captions; the official COCO-2014 val release has 202,654`)));
  assert.ok(warnings.some((w) => w.includes(cocoFileName(MINI_COCO_CASES.missing)) && w.includes('not in the images folder')));
  assert.ok(warnings.some((w) => w.includes(MINI_COCO_UNLISTED) && w.includes('not listed')));
  assert.ok(events.some((l) => l.event === 'task-end' && l.label === 'references'), 'the references phase reported as a task');
  assert.deepEqual(lines.map((l) => l.event), ['result']);

  const m = manifestOf(whole);
  assert.equal(m.dataset, `coco2014-val copy with ${coco.decodable} images and ${coco.captionCount} captions`);
  assert.deepEqual(m.validation.missing, [cocoFileName(MINI_COCO_CASES.missing)]);
  assert.deepEqual(m.validation.unlisted, [MINI_COCO_UNLISTED]);
  assert.deepEqual(m.decoding.missing.map((s) => s.file_name), [cocoFileName(MINI_COCO_CASES.missing)]);
  const skipped = Object.fromEntries(m.decoding.skipped.map((s) => [s.file_name, s.reason]));
  assert.match(skipped[cocoFileName(MINI_COCO_CASES.truncated)]!, /^truncated JPEG: its \d+ bytes end before the end-of-image marker$/);
  assert.match(skipped[cocoFileName(MINI_COCO_CASES.notAnImage)]!, /^not an image: no PNG, JPEG, .* data in its 40 bytes$/);
  assert.deepEqual(Object.keys(skipped).sort(), golden.unreadable.map((u) => u.file_name).sort(), 'what Pillow refuses, and only that, is skipped');
  const noted = Object.fromEntries(m.decoding.noted.map((n) => [n.file_name, n.notes]));
  assert.deepEqual(noted[cocoFileName(MINI_COCO_CASES.grayscale)], ['grayscale']);
  assert.deepEqual(noted[cocoFileName(MINI_COCO_CASES.cmyk)], ['cmyk']);
  assert.deepEqual(noted[cocoFileName(MINI_COCO_CASES.progressive)], ['progressive']);
  assert.deepEqual(noted[cocoFileName(MINI_COCO_CASES.exifRotated)], ['exif-orientation-6-ignored']);
  assert.equal(m.decoding.ok, coco.decodable);
});

test("reference images equal PIL's convert('RGB') + centre crop + LANCZOS, grey, CMYK, progressive and EXIF-tagged included", async () => {
  const m = manifestOf(whole);
  assert.deepEqual(m.references.map((r) => [r.protocol, r.images]), [['center-crop-lanczos-256', coco.decodable], ['center-crop-lanczos-512', coco.decodable]]);
  for (const ref of m.references) {
    const files = readdirSync(join(whole, ref.folder)).sort();
    assert.equal(files.length, Object.keys(golden.images).length);
    const list = readFileSync(join(whole, ref.list.file), 'utf8');
    assert.equal(sha256(list), ref.list.sha256);
    for (const file of files) {
      const source = file.replace(/\.png$/, '.jpg');
      const { data, info } = await sharp(join(whole, ref.folder, file)).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 3, `${file}: RGB`);
      assert.equal(sha256(data), golden.images[source]![String(ref.side) as '256' | '512'], `${ref.protocol}/${file} differs from PIL`);
      assert.ok(list.includes(`${sha256(readFileSync(join(whole, ref.folder, file)))}  ${ref.folder}/${file}\n`), `${file} in ${ref.list.file}`);
    }
  }
});

test('caption subsets: every protocol written, the list ones from the published files found beside the annotations', () => {
  const m = manifestOf(whole);
  const byName = Object.fromEntries(m.captions.map((c) => [c.protocol, c]));
  for (const p of ['first-caption-per-image', 'gigagan-random-30k', 'sbv2-first-30k', 'random-n']) assert.ok(byName[p] && !('skipped' in byName[p]), `${p} written`);
  const first = JSON.parse(readFileSync(join(whole, 'captions', 'first-caption-per-image.json'), 'utf8')) as { captions: Array<{ image_id: number }> };
  assert.equal(first.captions.length, coco.imageCount);
  assert.deepEqual(first.captions.map((c) => c.image_id), [...first.captions.map((c) => c.image_id)].sort((a, b) => a - b));
  const sbv2 = JSON.parse(readFileSync(join(whole, 'captions', 'sbv2-first-30k.json'), 'utf8')) as { count: number; captions: Array<{ image_id: number | null }> };
  assert.equal(sbv2.count, 10);
  assert.ok(sbv2.captions.every((c) => c.image_id !== null), 'dataset.json entries placed on their images');
  const txt = readFileSync(join(whole, 'captions', 'random-n.txt'), 'utf8').split('\n');
  assert.equal(txt.length, 11);
});

test('a list protocol whose published file is absent, or too short, is skipped with the reason, not failed', () => {
  const dir = tempDir();
  const annotations = join(dir, 'captions_val2014.json');
  copyFileSync(coco.annotations, annotations);
  const out = join(dir, 'p');
  const r = vsdlab(['datasets', 'prepare', 'coco2014', '--annotations', annotations, '--images', coco.images, '--out', out, '--resize', 'center-crop-lanczos-256', '--block-size', '25',
    '--list', `gigagan-random-30k=${join(coco.root, 'annotations', 'captions_coco14_test.txt')}`, '--caption-count', '20']);
  assert.equal(r.code, 0, r.stderr);
  const byName = Object.fromEntries(manifestOf(out).captions.map((c) => [c.protocol, c]));
  const sbv2 = byName['sbv2-first-30k']!;
  assert.ok('skipped' in sbv2 && sbv2.skipped.includes('dataset.json, not found beside') && sbv2.skipped.includes('--list sbv2-first-30k=PATH'), JSON.stringify(sbv2));
  const gigagan = byName['gigagan-random-30k']!;
  assert.ok('skipped' in gigagan && /has 12 captions, the protocol takes 20/.test(gigagan.skipped), JSON.stringify(gigagan));
  assert.match(r.stdout, /captions sbv2-first-30k: skipped/);
  assert.ok(!('skipped' in byName['random-n']!) && !('skipped' in byName['first-caption-per-image']!));
});

test('reference statistics equal `vsdlab fid --save-stats` on the reference folder, byte for byte', () => {
  const m = manifestOf(whole);
  assert.equal(m.statistics.length, 4);
  const entry = m.statistics.find((s) => s.file === 'statistics/center-crop-lanczos-256-legacy-tensorflow.npz')!;
  assert.deepEqual({ ...entry.protocol, extractor_sha256: undefined }, {
    dataset: m.dataset,
    reference: m.dataset,
    reference_resize: 'center-crop-lanczos-256',
    resolution: 256,
    mode: 'legacy-tensorflow',
    extractor: 'onnx:inception-w32.onnx',
    extractor_sha256: undefined,
    reference_images: coco.decodable,
  });
  const npz = join(tempDir(), 'fid.npz');
  const r = vsdlab(['fid', join(whole, 'references', 'center-crop-lanczos-256'), '--save-stats', npz, '--mode', 'legacy-tensorflow', '--inception', inception, '--dims', '64', '--threads', '1', '--no-cache']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sha256(readFileSync(npz)), entry.sha256);
});

test('vsdlab fid against a prepared reference records its names, and refuses one of another mode', () => {
  const m = manifestOf(whole);
  const npz = join(whole, 'statistics', 'center-crop-lanczos-256-clean.npz');
  const folder = join(whole, 'references', 'center-crop-lanczos-256');
  const common = ['--inception', inception, '--dims', '64', '--threads', '1', '--no-cache'];
  const r = vsdlab(['fid', npz, folder, '--mode', 'clean', '--json', ...common]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { fid: number; protocol: Record<string, unknown> };
  assert.ok(Math.abs(out.fid) < 1e-6, `the reference set against its own statistics: ${out.fid}`);
  assert.deepEqual(out.protocol, {
    n_samples: coco.decodable,
    reference: m.dataset,
    reference_sha256: m.statistics.find((s) => s.file.endsWith('256-clean.npz'))!.sha256,
    reference_resize: 'center-crop-lanczos-256',
    resolution: 256,
    generated_resize: 'none',
    mode: 'clean',
    extractor: 'onnx:inception-w32.onnx',
    extractor_sha256: m.statistics[0]!.protocol.extractor_sha256,
  });
  const wrong = vsdlab(['fid', npz, folder, '--mode', 'legacy-pytorch', ...common]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /holds clean statistics .* measures in mode legacy-pytorch/);
});

test('--strict refuses a copy that is not the official release, in one line, before any work', () => {
  const out = join(tempDir(), 'strict');
  const r = vsdlab([...args(out), '--strict']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--strict: .*lists 25 images; the official COCO-2014 val release has 40,504/);
  assert.ok(!existsSync(join(out, 'references')));
});

test('shards 0/2 and 1/2 then an unsharded merge write the same files as one run', () => {
  const out = join(tempDir(), 'sharded');
  const s0 = vsdlab(args(out, '--shard', '0/2'));
  assert.equal(s0.code, 0, s0.stderr);
  assert.match(s0.stdout, /shard 0\/2: 5 block\(s\) written, 0 already done; 4 block\(s\) of the whole set still to do/);
  assert.ok(!existsSync(join(out, 'manifest.json')), 'a shard writes no manifest');
  const s1 = vsdlab(args(out, '--shard', '1/2'));
  assert.equal(s1.code, 0, s1.stderr);
  const merged = vsdlab(args(out));
  assert.equal(merged.code, 0, merged.stderr);
  assert.deepEqual(outputs(out), outputs(whole));
});

test('a prepare killed with SIGKILL reruns only what is missing and ends with the same files', async () => {
  const out = join(tempDir(), 'killed');
  const child = spawn(process.execPath, [fromRoot('bin/vsdlab.js'), ...args(out)], { stdio: 'ignore', env: { ...process.env, CI: '1' } });
  const blocks = join(out, 'work', 'blocks');
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 600; i++) {
    if (existsSync(blocks) && readdirSync(blocks).filter((f) => f.endsWith('.json')).length >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(!existsSync(join(out, 'manifest.json')), 'killed before it finished');
  const rerun = vsdlab(args(out, '--json'));
  assert.equal(rerun.code, 0, rerun.stderr);
  const result = JSON.parse(rerun.stdout.trim().split('\n').at(-1)!) as { already_done: number; processed: number };
  assert.ok(result.already_done >= 2, `blocks finished before the kill are kept (${result.already_done})`);
  assert.equal(result.already_done + result.processed, 9);
  assert.deepEqual(outputs(out), outputs(whole));
});
