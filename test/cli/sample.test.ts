// `vsdlab sample` end to end on the tiny SD 2 folder: tokenizer → text encoder → scheduler loop → VAE, against
// diffusers' StableDiffusionPipeline loop and SwiftBrush's one-step inference (goldens: test/golden/sd).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeNpy, encodeNpy } from '../../src/metrics/stats/npy-format.js';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { goldenTensor, readGolden, type Golden } from '../models/sd/golden.js';
import { tinyOnnxFolder } from '../models/sd/onnx-folder.js';

const MODEL = 'test/fixtures/sd/tiny-sd2';

/** the golden's initial latents as the .npy a user would pass */
function latentsFile(dir: string, g: Golden, name: string): string {
  const t = goldenTensor(g, name);
  const path = join(dir, `${name}.npy`);
  writeFileSync(path, encodeNpy(Float32Array.from(t.data), t.shape));
  return path;
}

/** max |a − golden| with a [1, H, W, 3] channels-last and the golden [1, 3, H, W] */
function maxDiff(a: ArrayLike<number>, g: Golden, name: string, scale = 1): number {
  const t = goldenTensor(g, name);
  const [, c, h, w] = t.shape as [number, number, number, number];
  let d = 0;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 0; k < c; k++) d = Math.max(d, Math.abs((a[(i * w + j) * c + k] as number) * scale - (t.data[(k * h + i) * w + j] as number)));
  return d;
}

test("vsdlab sample, DDIM 25 steps with CFG 4.5: the images equal diffusers' pipeline from the same latents", () => {
  const dir = tempDir();
  const g = readGolden('sample_ddim25');
  const out = join(dir, 'out');
  const r = vsdlab(['sample', MODEL, '--prompt', String(g.meta.prompt), '--latents', latentsFile(dir, g, 'initial_latents'), '--sampler', 'ddim', '--steps', '25', '--guidance', '4.5', '--output-type', 'npy', '--out', out, '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^sample .*out: 1\/1 images in /m);
  const images = decodeNpy(readFileSync(join(out, 'images.npy')));
  assert.deepEqual(images.shape, [1, 16, 16, 3]);
  assert.ok(maxDiff(images.data, g, 'image01') < 1e-4, `max diff ${maxDiff(images.data, g, 'image01')}`);
});

test("vsdlab sample, one-step with SwiftBrush's released ᾱ_T: the PNG equals its inference code's image, rounded as diffusers' numpy_to_pil", async () => {
  const dir = tempDir();
  const g = readGolden('sample_onestep');
  const out = join(dir, 'out');
  const r = vsdlab(['sample', MODEL, '--prompt', String(g.meta.prompt), '--latents', latentsFile(dir, g, 'noise'), '--sampler', 'one-step', '--one-step-alpha-bar', '0.0047', '--out', out, '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const { data, info } = await sharp(join(out, '000000.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [16, 16, 3]);
  // one 8-bit level of rounding, at most
  assert.ok(maxDiff(data, g, 'image01', 1 / 255) <= 1 / 255 + 1e-6, `max diff ${maxDiff(data, g, 'image01', 1 / 255)}`);
  const record = JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')) as { sampler: string; files: string[] };
  assert.deepEqual([record.sampler, record.files], ['one-step', ['000000.png']]);
});

test('vsdlab sample: bad input is one line naming the file, exit 2', () => {
  const dir = tempDir();
  const missing = vsdlab(['sample', join(dir, 'nope'), '--prompt', 'x', '--out', join(dir, 'o')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: no such pipeline folder/);
  const bad = join(dir, 'bad.npy');
  writeFileSync(bad, encodeNpy(new Float32Array(3 * 4 * 8 * 8), [3, 4, 8, 8]));
  const shape = vsdlab(['sample', MODEL, '--prompt', 'x', '--latents', bad, '--out', join(dir, 'o'), '--backend', 'wasm']);
  assert.equal(shape.code, 2);
  assert.match(shape.stderr, /bad\.npy: shape \[3, 4, 8, 8\], expected \[1, 4, h, w\]/);
  const none = vsdlab(['sample', fromRoot(MODEL), '--out', join(dir, 'o')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give --prompt TEXT or --captions FILE/);
});

test("vsdlab sample --engine onnx: Optimum's ONNX export of the folder gives diffusers' DDIM-25 image; auto-detected too", () => {
  const dir = tempDir();
  const g = readGolden('sample_ddim25');
  const model = tinyOnnxFolder();
  const latents = latentsFile(dir, g, 'initial_latents');
  for (const engine of ['onnx', 'auto']) {
    const out = join(dir, engine);
    const r = vsdlab(['sample', model, '--engine', engine, '--device', 'cpu', '--prompt', String(g.meta.prompt), '--latents', latents, '--sampler', 'ddim', '--steps', '25', '--guidance', '4.5', '--output-type', 'npy', '--out', out, '--backend', 'wasm']);
    assert.equal(r.code, 0, r.stderr);
    const images = decodeNpy(readFileSync(join(out, 'images.npy')));
    assert.ok(maxDiff(images.data, g, 'image01') < 1e-4, `${engine}: max diff ${maxDiff(images.data, g, 'image01')}`);
    assert.equal((JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')) as { engine: string }).engine, 'onnx');
  }
});

test('vsdlab sample --engine onnx on a diffusers folder: one line naming unet/model.onnx and its inputs, exit 2', () => {
  const dir = tempDir();
  const r = vsdlab(['sample', MODEL, '--engine', 'onnx', '--prompt', 'x', '--out', join(dir, 'o'), '--backend', 'wasm']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tiny-sd2\/unet\/model\.onnx: no such file; an ONNX Stable Diffusion folder has it, with inputs sample, timestep, encoder_hidden_states → outputs out_sample/);
});

test('vsdlab sample with the default seed 0 gives the same images on every run', () => {
  const dir = tempDir();
  const run = (out: string): Buffer => {
    const r = vsdlab(['sample', MODEL, '--prompt', 'a red cube', '--prompt', 'a blue ball', '--sampler', 'ddim', '--steps', '3', '--output-type', 'npy', '--out', join(dir, out), '--backend', 'wasm']);
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(join(dir, out, 'images.npy'));
  };
  assert.ok(run('a').equals(run('b')));
});
