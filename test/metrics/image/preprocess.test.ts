import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PREPROCESS_MODES,
  PREPROCESS_MODE_NAMES,
  centerCrop,
  centerCropSquare,
  preprocess,
  pythonRound,
  squareCropResize,
  type RgbImage,
} from '../../../src/metrics/image/index.js';
import { BadInputError } from '../../../src/errors.js';
import { bytes, floats, maxAbsDiff, readGolden, type GoldenInput } from './goldens.js';

interface PreGolden {
  inputs: Record<string, GoldenInput>;
  cases: { mode: string; input: string; size: number; stride: number; data: string }[];
  cocoCrop: { input: string; size: number; data: string }[];
}
const golden = readGolden<PreGolden>('preprocess.json');
const rgb = (name: string): RgbImage => {
  const g = golden.inputs[name];
  assert.ok(g, `missing input ${name}`);
  return { width: g.width, height: g.height, data: bytes(g.data) };
};

// outputs are in [-1, 1]; all six modes are bit-exact against these goldens (made on an AVX-512 machine);
// torch's plain CPU kernel would move legacy-pytorch/torchmetrics by a few ulps, far inside this bound
const TOLERANCE = 1e-5;

for (const mode of PREPROCESS_MODE_NAMES) {
  test(`preprocess ${mode} matches the reference pipeline (small sizes and full ${PREPROCESS_MODES[mode].size} sampled)`, () => {
    const cases = golden.cases.filter((c) => c.mode === mode);
    assert.ok(cases.length >= 8, `goldens for ${mode}`);
    for (const c of cases) {
      const out = preprocess(mode, rgb(c.input), c.size === PREPROCESS_MODES[mode].size ? undefined : c.size);
      assert.equal(out.channels, 3);
      assert.equal(out.width, c.size);
      assert.equal(out.height, c.size);
      const sampled = c.stride === 1 ? out.data : out.data.filter((_, i) => i % c.stride === 0);
      const d = maxAbsDiff(sampled, floats(c.data));
      assert.ok(d <= TOLERANCE, `${mode} ${c.input} → ${c.size}: max abs diff ${d}`);
    }
  });
}

test('clip and clip-hf crop differently when the margin is odd', () => {
  // e40x30 at 9: long side int(9·40/30) = 12, margin 3: torchvision round(1.5) = 2, transformers 3 // 2 = 1
  const img = rgb('e40x30');
  const a = preprocess('clip', img, 9).data;
  const b = preprocess('clip-hf', img, 9).data;
  assert.ok(maxAbsDiff(a, b) > 0.01);
});

test('COCO-30K pre-resize (square centre crop + Pillow LANCZOS) matches GigaGAN/DMD2 resize_and_center_crop', () => {
  assert.equal(golden.cocoCrop.length, 5);
  for (const c of golden.cocoCrop) {
    const out = squareCropResize(rgb(c.input), c.size);
    assert.deepEqual([out.width, out.height], [c.size, c.size]);
    assert.equal(maxAbsDiff(out.data, bytes(c.data)), 0, `${c.input} → ${c.size}`);
  }
});

test('unknown preprocessing mode is a BadInputError naming the choices', () => {
  assert.throws(
    () => preprocess('bicubic-please', rgb('a7x5')),
    (e: unknown) => e instanceof BadInputError && e.code === 'PREPROCESS_MODE_UNKNOWN' && (e.hint ?? '').includes('clean'),
  );
});

test('centre crops round like torchvision (python round) or floor like transformers', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2, 7.25].map(pythonRound), [0, 2, 2, 4, 2, 7]);
  const img: RgbImage = { width: 7, height: 4, data: new Uint8Array(7 * 4 * 3).map((_, i) => i) };
  const tv = centerCrop(img, 4, 4); // margin 3 → round(1.5) = 2
  const fl = centerCrop(img, 4, 4, 'floor'); // margin 3 → 1
  assert.equal(tv.data[0], 2 * 3);
  assert.equal(fl.data[0], 1 * 3);
  const sq = centerCropSquare({ width: 3, height: 6, data: new Uint8Array(54).map((_, i) => i) });
  assert.deepEqual([sq.width, sq.height, sq.data[0]], [3, 3, 2 * 9]); // round(1.5) = 2 rows down
  assert.throws(() => centerCrop(img, 8, 4), RangeError);
});

test('preprocessing rejects an image whose buffer does not match its size', () => {
  assert.throws(() => preprocess('clean', { width: 3, height: 3, data: new Uint8Array(26) }), RangeError);
});
