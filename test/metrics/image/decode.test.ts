import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeImage, convertToRgb } from '../../../src/metrics/image/index.js';
import { BadInputError } from '../../../src/errors.js';
import { bytes, goldenPath, maxAbsDiff, readGolden } from './goldens.js';

interface ConvertGolden {
  files: { file: string; mode: string; width: number; height: number; data: string }[];
}
const golden = readGolden<ConvertGolden>('convert.json');
const fixture = (name: string): string => goldenPath('fixtures', name);

// measured: sharp's bundled mozjpeg decodes these JPEGs to exactly Pillow 9.4's pixels (libjpeg-turbo
// 2.1.5); the bound is kept explicit so a decoder change that moves pixels fails here
const JPEG_MAX_ABS_DIFF = 0;

test('decodeImage equals Pillow Image.open(f).convert("RGB") for every mode and format (PNG, JPEG, WebP, TIFF, GIF, BMP, PPM/PGM)', async () => {
  const modes = new Set<string>();
  for (const g of golden.files) {
    const img = await decodeImage(fixture(g.file));
    assert.equal(img.width, g.width, g.file);
    assert.equal(img.height, g.height, g.file);
    const d = maxAbsDiff(img.data, bytes(g.data));
    const bound = g.file.endsWith('.jpg') ? JPEG_MAX_ABS_DIFF : 0;
    assert.ok(d <= bound, `${g.file} (${g.mode}): max abs diff ${d} > ${bound}`);
    modes.add(g.mode);
  }
  for (const m of ['1', 'L', 'LA', 'P', 'I', 'RGB', 'RGBA', 'CMYK']) assert.ok(modes.has(m), `golden covers mode ${m}`);
});

test('decodeImage accepts a Buffer', async () => {
  const g = golden.files.find((f) => f.file === 'q90-420.jpg');
  assert.ok(g);
  const img = await decodeImage(readFileSync(fixture(g.file)));
  assert.equal(maxAbsDiff(img.data, bytes(g.data)), 0);
});

test('corrupt or non-image files throw BadInputError naming the file', async () => {
  for (const name of ['corrupt.jpg', 'corrupt.png', 'not-an-image.png', 'does-not-exist.png']) {
    const path = fixture(name);
    await assert.rejects(decodeImage(path), (e: unknown) => {
      assert.ok(e instanceof BadInputError, `${name}: ${String(e)}`);
      assert.equal(e.code, 'IMAGE_UNREADABLE');
      assert.equal(e.kind, 'bad-input');
      assert.ok(e.message.includes(path), e.message);
      return true;
    });
  }
  await assert.rejects(decodeImage(Buffer.from('nope'), 'upload-7.png'), (e: unknown) => e instanceof BadInputError && e.message.includes('upload-7.png'));
  // the hand-written BMP / PPM readers refuse truncated data too
  for (const name of ['rgb.bmp', 'p.bmp', 'rgb.ppm']) {
    const cut = readFileSync(fixture(name)).subarray(0, 120);
    await assert.rejects(decodeImage(cut, `cut-${name}`), (e: unknown) => e instanceof BadInputError && e.message.includes(`cut-${name}`));
  }
});

test('convertToRgb follows Pillow: CMYK formula, alpha dropped, 16-bit grey clipped, 16-bit colour high byte', () => {
  const cmyk = convertToRgb({ width: 2, height: 1, layout: 'cmyk', bits: 8, data: Uint8Array.from([0, 0, 0, 0, 255, 128, 10, 100]) });
  // nk = 155: r = 155 − mulDiv255(255,155) = 0, g = 155 − 78 = 77, b = 155 − 6 = 149
  assert.deepEqual([...cmyk.data], [255, 255, 255, 0, 77, 149]);
  const la = convertToRgb({ width: 1, height: 1, layout: 'grey-alpha', bits: 8, data: Uint8Array.from([40, 0]) });
  assert.deepEqual([...la.data], [40, 40, 40]);
  const rgba = convertToRgb({ width: 1, height: 1, layout: 'rgba', bits: 8, data: Uint8Array.from([1, 2, 3, 0]) });
  assert.deepEqual([...rgba.data], [1, 2, 3]);
  const i16 = convertToRgb({ width: 2, height: 1, layout: 'grey', bits: 16, data: Uint16Array.from([200, 1000]) });
  assert.deepEqual([...i16.data], [200, 200, 200, 255, 255, 255]);
  const rgb16 = convertToRgb({ width: 1, height: 1, layout: 'rgb', bits: 16, data: Uint16Array.from([0x1234, 0xff00, 0x00ff]) });
  assert.deepEqual([...rgb16.data], [0x12, 0xff, 0x00]);
  assert.throws(() => convertToRgb({ width: 2, height: 2, layout: 'rgb', bits: 8, data: new Uint8Array(11) }), RangeError);
});
