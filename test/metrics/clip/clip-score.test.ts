import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../../../src/errors.js';
import {
  ClipModel,
  ClipTokenizer,
  captionPairs,
  clipConvention,
  clipModelFiles,
  clipScore,
  naturalCompare,
  rowCosines,
} from '../../../src/metrics/clip/index.js';
import { vsdlab } from '../../helpers/cli.js';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';

const dir = fromRoot('test', 'golden', 'metrics-peer', 'clip');
interface ConventionGolden {
  token_ids: number[][];
  cosines: number[];
  score: number;
}
const g = JSON.parse(readFileSync(join(dir, 'goldens.json'), 'utf8')) as { images: string[]; 'cosine-mean': ConventionGolden; torchmetrics: ConventionGolden };
const captions = readFileSync(join(dir, 'captions.txt'), 'utf8').trimEnd().split('\n');

test('tokenizer.json through @huggingface/tokenizers gives the reference BPE ids, open_clip layout, EOT kept on truncation', () => {
  const tok = ClipTokenizer.fromFile(join(dir, 'tokenizer.json'));
  for (const [name, prefix] of [['cosine-mean', 'A photo depicts '], ['torchmetrics', '']] as const) {
    captions.forEach((c, i) => {
      const row = tok.encode(prefix + c);
      assert.equal(row.length, 77);
      assert.deepEqual([...row].filter((v) => v !== 0), g[name].token_ids[i], `${name} caption ${i}`);
    });
  }
  const long = tok.encode(captions[4]!);
  assert.equal(long[0], tok.sot);
  assert.equal(long[76], tok.eot);
  assert.ok(tok.pieces(captions[4]!).length > 76);
  assert.throws(() => ClipTokenizer.fromJson({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }), BadInputError);
});

test('torchmetrics clamps the mean of 100 * cosine at 0, not each sample; cosine-mean is the plain mean', () => {
  const tm = clipConvention('torchmetrics');
  assert.ok(Math.abs(tm.aggregate(Float64Array.from([-0.5, 0.7])) - 10) < 1e-12); // a per-sample clamp would give 35
  assert.equal(tm.aggregate(Float64Array.from([-0.5, 0.1])), 0);
  const cm = clipConvention('cosine-mean');
  assert.equal(cm.prefix, 'A photo depicts ');
  assert.equal(cm.aggregate(Float64Array.from([-0.5, 0.1])), -0.2);
  assert.throws(() => clipConvention('clipscore'), BadInputError);
  const c = rowCosines(Float32Array.from([1, 0, 3, 4]), Float32Array.from([2, 0, -3, -4]), 2);
  assert.deepEqual([...c], [1, -1]);
});

test('captions pair with images in natural file order (img10 after img5)', () => {
  const pairs = captionPairs(join(dir, 'images'), join(dir, 'captions.txt'));
  assert.deepEqual(pairs.images.map((p) => p.slice(p.lastIndexOf('/') + 1)), g.images);
  assert.ok(naturalCompare('img2.png', 'img10.png') < 0);
  const short = join(tempDir(), 'captions.txt');
  writeFileSync(short, 'one\ntwo\n');
  assert.throws(() => captionPairs(join(dir, 'images'), short), (e: unknown) => e instanceof BadInputError && /6 images but .* has 2 captions/.test(e.message));
});

test('per-pair cosines and scores equal the PyTorch reference for both conventions', async () => {
  const model = await ClipModel.load(clipModelFiles(dir), { threads: 1 });
  try {
    const pairs = captionPairs(join(dir, 'images'), join(dir, 'captions.txt'));
    for (const name of ['cosine-mean', 'torchmetrics'] as const) {
      const r = await clipScore(model, pairs.images, pairs.captions, { convention: name, batchSize: 4 });
      assert.equal(r.pairs, 6);
      r.cosines.forEach((c, i) => assert.ok(Math.abs(c - g[name].cosines[i]!) < 1e-5, `${name} pair ${i}: ${c} vs ${g[name].cosines[i]}`));
      assert.ok(Math.abs(r.score - g[name].score) < 1e-4, `${name}: ${r.score} vs ${g[name].score}`);
    }
  } finally {
    await model.dispose();
  }
});

test('vsdlab clip-score prints the score; --json carries the convention and model hashes', () => {
  const r = vsdlab(['clip-score', join(dir, 'images'), join(dir, 'captions.txt'), '--clip', dir, '--convention', 'torchmetrics', '--no-cache', '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { clip_score: number; convention: string; pairs: number; models: { image: { sha256: string } } };
  assert.equal(out.convention, 'torchmetrics');
  assert.equal(out.pairs, 6);
  assert.ok(Math.abs(out.clip_score - g.torchmetrics.score) < 1e-4);
  assert.match(out.models.image.sha256, /^[0-9a-f]{64}$/);
  const plain = vsdlab(['clip-score', join(dir, 'images'), join(dir, 'captions.txt'), '--clip', dir, '--no-cache']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^CLIP score \(cosine-mean\):\s+-?\d/);
  const missing = vsdlab(['clip-score', join(dir, 'images'), join(dir, 'captions.txt'), '--clip', join(dir, 'nowhere'), '--no-cache']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr.split('\n')[0]!, /does not exist/);
});
