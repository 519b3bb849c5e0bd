import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { BadInputError } from '../../../src/errors.js';
import { OnnxExtractor, onnxCompanionFiles, onnxExternalDataFiles, onnxExternalDataRefs, sha256OnnxModel } from '../../../src/metrics/extract/index.js';
import { OnnxGraphBuilder } from '../../../src/onnx/graph-builder.js';
import { AssetHashCache } from '../../../src/util/asset-hash-cache.js';
import { sha256File } from '../../../src/util/hash.js';
import { extractorInfo } from '../../../src/metrics/evaluation/index.js';
import { featureMetricProtocol } from '../../../src/stages/evaluation-protocol.js';
import { diskAssetHasher } from '../../../src/plan/identity.js';
import { clipModelName } from '../../../src/metrics/protocol/evaluation-protocol.js';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';

const { onnx } = onnxProto;

/**
 * A small extractor: mean over H and W of a N x 3 x 2 x 2 batch, times W (3 x 4), plus b (4), ReLU. Built with the
 * graph builder, then W and b moved out into external data as onnx.save_model does it: W into `weights.data`
 * (at an offset after 16 pad bytes), b into `bias.bin`, each tensor naming location / offset / length.
 */
function writeExternalModel(dir: string, name = 'tiny.onnx', locations = { W: 'weights.data', b: 'bias.bin' }): { model: string; w: Float32Array; b: Float32Array } {
  const g = new OnnxGraphBuilder('tiny-external');
  const w = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
  const b = Float32Array.from([0.5, -0.25, 0.125, 1]);
  const x = g.input('input', 'float32', ['batch', 3, 2, 2]);
  const mean = g.node('ReduceMean', [x], { axes: [2, 3], keepdims: 0 });
  const y = g.node('MatMul', [mean, g.initializer('W', w, [3, 4])]);
  g.node('Relu', [g.node('Add', [y, g.initializer('b', b, [4])])], {}, ['features']);
  g.output('features', 'float32', ['batch', 4]);
  const model = onnx.ModelProto.decode(g.encode());
  const pad = new Uint8Array(16).fill(7);
  const files: Record<string, Uint8Array[]> = { [locations.W]: [pad] };
  files[locations.b] ??= [];
  for (const t of model.graph!.initializer!) {
    const location = t.name === 'W' ? locations.W : locations.b;
    const offset = files[location]!.reduce((n, c) => n + c.length, 0);
    files[location]!.push(t.rawData!);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(t.rawData!.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
  }
  for (const [name, chunks] of Object.entries(files)) writeFileSync(join(dir, name), Buffer.concat(chunks));
  const path = join(dir, name);
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return { model: path, w, b };
}

const expected = (input: Float32Array, w: Float32Array, b: Float32Array): number[] => {
  const mean = [0, 1, 2].map((c) => (input[4 * c]! + input[4 * c + 1]! + input[4 * c + 2]! + input[4 * c + 3]!) / 4);
  return [0, 1, 2, 3].map((j) => Math.max(0, b[j]! + mean.reduce((s, m, c) => s + m * w[4 * c + j]!, 0)));
};

test('the external-data references of a graph are read from its initializers (equal to what onnx-proto decodes)', () => {
  const dir = tempDir();
  const { model } = writeExternalModel(dir);
  assert.deepEqual(onnxExternalDataRefs(model), [
    { tensor: 'W', location: 'weights.data' },
    { tensor: 'b', location: 'bias.bin' },
  ]);
  const decoded = onnx.ModelProto.decode(readFileSync(model));
  const viaProto = decoded.graph!.initializer!.map((t) => t.externalData!.find((e) => e.key === 'location')!.value);
  assert.deepEqual(onnxExternalDataFiles(model), [...new Set(viaProto)].sort());
  // a self-contained model (inline weights, 100 KB of them) references nothing
  const g = new OnnxGraphBuilder('inline');
  g.node('Add', [g.input('input', 'float32', [1, 25000]), g.initializer('big', new Float32Array(25000).fill(1), [25000])], {}, ['out']);
  g.output('out', 'float32', [1, 25000]);
  writeFileSync(join(dir, 'inline.onnx'), g.encode());
  assert.deepEqual(onnxExternalDataRefs(join(dir, 'inline.onnx')), []);
});

test('an extractor with external data runs, and its identity covers every data file byte', async () => {
  const dir = tempDir();
  const { model, w, b } = writeExternalModel(dir);
  const reference = { reference: 'npz:ref.npz', reference_sha256: null };
  const x = await OnnxExtractor.load(model, { threads: 1 });
  let before: string;
  let protocolBefore: ReturnType<typeof featureMetricProtocol>;
  try {
    const input = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 1.5);
    const out = await x.run(input, 1);
    const want = expected(input, w, b);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(out.features![j]! - want[j]!) < 1e-6, `feature ${j}: ${out.features![j]} vs ${want[j]}`);
    before = x.sha256;
    assert.notEqual(before, await sha256File(model), 'the identity is not the graph file alone');
    assert.equal(before, await sha256OnnxModel(model));
    protocolBefore = featureMetricProtocol(reference, 'clean', extractorInfo(x), 4);
  } finally {
    await x.dispose();
  }
  // one byte of the padding before W (not even a weight onnxruntime reads) changes the identity and the protocol
  const data = readFileSync(join(dir, 'weights.data'));
  data[3] = data[3]! ^ 1;
  writeFileSync(join(dir, 'weights.data'), data);
  const changed = await OnnxExtractor.load(model, { threads: 1 });
  try {
    assert.notEqual(changed.sha256, before);
    const protocolAfter = featureMetricProtocol(reference, 'clean', extractorInfo(changed), 4);
    assert.equal(protocolAfter.extractor, protocolBefore.extractor, 'same name');
    assert.notEqual(protocolAfter.extractor_sha256, protocolBefore.extractor_sha256);
    assert.equal(protocolAfter.extractor_sha256, changed.sha256);
  } finally {
    await changed.dispose();
  }
  // and a byte of the second file too
  const bias = readFileSync(join(dir, 'bias.bin'));
  bias[0] = bias[0]! ^ 1;
  writeFileSync(join(dir, 'bias.bin'), bias);
  assert.notEqual(await sha256OnnxModel(model), changed.sha256);
});

test('a missing external-data file is a bad-input error naming it, before onnxruntime sees the model', async () => {
  const dir = tempDir();
  const { model } = writeExternalModel(dir);
  renameSync(join(dir, 'bias.bin'), join(dir, 'bias.moved'));
  await assert.rejects(
    OnnxExtractor.load(model),
    (e: unknown) => e instanceof BadInputError && e.code === 'ONNX_EXTERNAL_DATA_MISSING' && e.message.includes(join(dir, 'bias.bin')) && e.message.includes('"b"'),
  );
  assert.throws(() => onnxCompanionFiles(model), BadInputError);
  // a location outside the model's folder is refused, not followed
  const decoded = onnx.ModelProto.decode(readFileSync(model));
  decoded.graph!.initializer![1]!.externalData![0]!.value = '../bias.bin';
  writeFileSync(model, onnx.ModelProto.encode(decoded).finish());
  assert.throws(() => onnxExternalDataFiles(model), (e: unknown) => e instanceof BadInputError && e.code === 'ONNX_EXTERNAL_DATA_OUTSIDE');
});

test('a file that is no ONNX protobuf is a bad-input error naming it; as an asset it is hashed alone', () => {
  const dir = tempDir({ 'fake.onnx': '{"not": "onnx"}' });
  assert.throws(() => onnxExternalDataRefs(join(dir, 'fake.onnx')), (e: unknown) => e instanceof BadInputError && /cannot load ONNX model .*fake\.onnx/.test(e.message));
  assert.deepEqual(onnxCompanionFiles(join(dir, 'fake.onnx')), []);
  // the committed reduced FID Inception is self-contained: its identity stays the file's sha256
  const golden = fromRoot('test', 'golden', 'metrics-peer', 'inception-w32.onnx');
  assert.deepEqual(onnxExternalDataRefs(golden), []);
});

test('the asset-hash cache checks the data files of an .onnx asset: a changed data file changes the run asset hash', async () => {
  const dir = tempDir();
  const { model } = writeExternalModel(dir);
  const cacheDir = join(dir, 'cache');
  const first = AssetHashCache.open(cacheDir, onnxCompanionFiles);
  const hash = await first.hashPath(model);
  assert.equal(hash, await sha256OnnxModel(model), 'the plan hash equals the extractor identity');
  assert.deepEqual(first.cachedFiles(model), [], 'files modified within the racy margin are not cached');
  // age the files so their stats are trusted and cached
  const old = new Date(Date.now() - 60_000);
  for (const f of ['tiny.onnx', 'weights.data', 'bias.bin']) utimesSync(join(dir, f), old, old);
  const second = AssetHashCache.open(cacheDir, onnxCompanionFiles);
  assert.equal(await second.hashPath(model), hash);
  assert.deepEqual(second.cachedFiles(model), ['', 'bias.bin', 'weights.data']);
  await second.save();
  // a re-export rewrites W's data file with the same size: its new mtime is what the cache sees
  const data = readFileSync(join(dir, 'weights.data'));
  data[20] = data[20]! ^ 1;
  rmSync(join(dir, 'weights.data'));
  writeFileSync(join(dir, 'weights.data'), data);
  const third = AssetHashCache.open(cacheDir, onnxCompanionFiles);
  const progress: number[] = [];
  const changed = await third.hashPath(model, (done) => progress.push(done));
  assert.notEqual(changed, hash);
  assert.equal(changed, await sha256OnnxModel(model));
  assert.deepEqual(progress, [1], 'only the changed data file is read again');
  // verify re-hashes the data files too
  const verified = await AssetHashCache.open(cacheDir, onnxCompanionFiles).verifyPath(model);
  assert.equal(verified.sha256, changed);
  assert.deepEqual(verified.files.map((f) => f.path).sort(), [join(dir, 'bias.bin'), model, join(dir, 'weights.data')].sort());
  // plan's hasher (and verify's cache) use the rule
  const saved = process.env.VSDLAB_ASSET_CACHE;
  process.env.VSDLAB_ASSET_CACHE = 'off';
  try {
    assert.equal(await diskAssetHasher().hash(model), changed);
  } finally {
    if (saved === undefined) delete process.env.VSDLAB_ASSET_CACHE;
    else process.env.VSDLAB_ASSET_CACHE = saved;
  }
  // without the rule the cache sees the graph file alone (what it did before: a data file change went unseen)
  assert.equal(await AssetHashCache.open(null).hashPath(model), await sha256File(model));
  assert.ok(statSync(join(dir, 'weights.data')).size > 0);
});

test('a CLIP folder is named from its export.json when the files listed there give both towers\' identities', async () => {
  const dir = tempDir();
  // towers as tools/export_clip.py writes them: the image tower with <name>.data, the text tower self-contained
  const image = writeExternalModel(dir, 'image.onnx', { W: 'image.onnx.data', b: 'image.onnx.data' }).model;
  const g = new OnnxGraphBuilder('text');
  g.node('Identity', [g.input('input_ids', 'int64', ['batch', 77])], {}, ['text_embeds']);
  g.output('text_embeds', 'int64', ['batch', 77]);
  const text = join(dir, 'text.onnx');
  writeFileSync(text, g.encode());
  const files = { 'image.onnx': await sha256File(image), 'image.onnx.data': await sha256File(`${image}.data`), 'text.onnx': await sha256File(text) };
  writeFileSync(join(dir, 'export.json'), JSON.stringify({ source: 'open_clip ViT-g-14 random weights, seed 0', files }));
  const [imageId, textId] = [await sha256OnnxModel(image), await sha256OnnxModel(text)];
  assert.deepEqual(onnxExternalDataFiles(image), ['image.onnx.data']);
  assert.equal(textId, files['text.onnx']);
  assert.equal(clipModelName(image, imageId, textId), 'open_clip ViT-g-14 random weights, seed 0');
  // the graph file's sha256 alone is not the tower's identity, and weights other than the listed ones are not named
  assert.equal(clipModelName(image, files['image.onnx'], textId), `onnx:${basename(dir)}`);
  const data = readFileSync(`${image}.data`);
  data[0] = data[0]! ^ 1;
  writeFileSync(`${image}.data`, data);
  assert.equal(clipModelName(image, await sha256OnnxModel(image), textId), `onnx:${basename(dir)}`);
});
