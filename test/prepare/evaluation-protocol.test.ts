// Protocols as data: a metric whose reference is a prepared folder records the names papers state (dataset,
// reference set and resize, side), a mismatched mode or extractor is refused, and the report puts a run beside a
// paper number exactly when every field the paper states agrees, else names the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../../src/errors.js';
import { encodeStatsNpz } from '../../src/metrics/stats/index.js';
import { referenceFields, preparedDatasetName, PREPARED_KIND } from '../../src/prepare/index.js';
import { compareWithReferences, loadReferences } from '../../src/report/references.js';
import type { Column, Row, RunRecord } from '../../src/report/types.js';
import { baseProtocol, featureMetricProtocol } from '../../src/stages/evaluation-protocol.js';
import { metricRecord, type Protocol } from '../../src/tracking/results.js';
import { sha256 } from '../../src/util/hash.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const EXTRACTOR = 'a'.repeat(64);
const input = { channels: 3, height: 299, width: 299 };

/** a prepared folder as `datasets prepare` leaves it, cut to what the lookups read */
function prepared(dataset: string) {
  const dir = tempDir();
  const annotations = join(dir, 'captions_val2014.json');
  writeFileSync(annotations, '{"images": [], "annotations": []}');
  const npz = encodeStatsNpz({ mu: new Float64Array([1, 2]), sigma: new Float64Array([1, 0, 0, 1]) });
  mkdirSync(join(dir, 'p', 'statistics'), { recursive: true });
  mkdirSync(join(dir, 'p', 'references', 'center-crop-lanczos-256'), { recursive: true });
  const stats = join(dir, 'p', 'statistics', 'center-crop-lanczos-256-clean.npz');
  writeFileSync(stats, npz);
  const manifest = {
    kind: PREPARED_KIND,
    dataset,
    annotations: { file: 'captions_val2014.json', sha256: sha256('{"images": [], "annotations": []}') },
    references: [{ protocol: 'center-crop-lanczos-256', description: '', side: 256, folder: 'references/center-crop-lanczos-256', images: 40504, list: { file: 'references/center-crop-lanczos-256.sha256', sha256: 'b'.repeat(64) } }],
    statistics: [
      {
        file: 'statistics/center-crop-lanczos-256-clean.npz',
        sha256: sha256(npz),
        images: 40504,
        dims: 2,
        protocol: { dataset, reference: dataset, reference_resize: 'center-crop-lanczos-256', resolution: 256, mode: 'clean', extractor: 'inception-v3-fid', extractor_sha256: EXTRACTOR, reference_images: 40504 },
      },
    ],
  };
  writeFileSync(join(dir, 'p', 'manifest.json'), JSON.stringify(manifest));
  return { dir, annotations, stats, folder: join(dir, 'p', 'references', 'center-crop-lanczos-256'), npzSha: sha256(npz) };
}

test('a prepared statistics file or reference folder is named as papers name it; anything else by what it is', async () => {
  const p = prepared('coco2014-val');
  assert.deepEqual(await referenceFields(p.stats, 'clean', EXTRACTOR, { reference: 'npz:x', sha256: p.npzSha }), {
    reference: 'coco2014-val', reference_sha256: p.npzSha, reference_resize: 'center-crop-lanczos-256', resolution: 256,
  });
  assert.deepEqual(await referenceFields(p.folder, 'clean', EXTRACTOR, { reference: 'folder:x:3', sha256: null }), {
    reference: 'coco2014-val', reference_sha256: 'b'.repeat(64), reference_resize: 'center-crop-lanczos-256', resolution: 256,
  });
  const loose = join(tempDir(), 'ref.npz');
  writeFileSync(loose, 'not prepared');
  assert.deepEqual(await referenceFields(loose, 'clean', EXTRACTOR, { reference: 'npz:ref.npz', sha256: 'c' }), { reference: 'npz:ref.npz', reference_sha256: 'c' });
});

test('prepared statistics of another FID mode or another extractor are refused, naming both', async () => {
  const p = prepared('coco2014-val');
  await assert.rejects(referenceFields(p.stats, 'legacy-pytorch', EXTRACTOR, { reference: '', sha256: p.npzSha }), (e: unknown) => {
    assert.ok(e instanceof BadInputError && e.code === 'REFERENCE_PROTOCOL_MISMATCH');
    assert.match(e.message, /holds clean statistics .* measures in mode legacy-pytorch/);
    assert.match(e.hint ?? '', /center-crop-lanczos-256-legacy-pytorch\.npz/);
    return true;
  });
  await assert.rejects(referenceFields(p.stats, 'clean', 'f'.repeat(64), { reference: '', sha256: p.npzSha }), /made with extractor aaaaaaaaaaaa .* runs ffffffffffff/);
});

test('the dataset is named by the prepared folder made from the same annotations file, else by the file', async () => {
  const p = prepared('coco2014-val');
  assert.equal(await preparedDatasetName(sha256('{"images": [], "annotations": []}'), [p.stats]), 'coco2014-val');
  assert.equal(await preparedDatasetName(sha256('other'), [p.stats]), null);
  const evaluate = { captions: { annotations: p.annotations, protocol: 'sbv2-first-30k', count: 30000, seed: 0, prompt_prefix: '' }, metrics: [{ name: 'fid', reference: p.stats }], batch_size: 32 } as never;
  const base = await baseProtocol(evaluate, 'fp', 30000);
  assert.deepEqual(base, { dataset: 'coco2014-val', dataset_sha256: sha256('{"images": [], "annotations": []}'), captions: 'sbv2-first-30k', caption_count: 30000, captions_sha256: 'fp', n_samples: 30000 });
  const elsewhere = await baseProtocol({ ...(evaluate as object), metrics: [] } as never, 'fp', 30000);
  assert.equal(elsewhere.dataset, 'file:captions_val2014.json');
});

function reportWith(fidProtocol: Protocol) {
  const m = metricRecord('fid', 16, 'lower', fidProtocol);
  const column: Column = { id: `fid@${m.fingerprint.slice(0, 8)}`, name: 'fid', label: 'FID', direction: 'lower', fingerprint: m.fingerprint, protocol: m.protocol, decimals: 2 };
  const row: Row = { key: 'k', label: 'VSD', varying: {}, runs: ['r'], seeds: [0], n: 1, cells: { [column.id]: { n: 1, mean: 16, std: null, ci: null, values: [], rank: null } } };
  const run = { name: 'r', config: { distill: { enabled: true, lora_teacher: { enabled: true }, student: { parameterization: 'eps' } } } } as unknown as RunRecord;
  const refs = [loadReferences(fromRoot('experiments/references/swiftbrush.yaml'))];
  return compareWithReferences(refs, [row], [column], [run]).comparisons.find((c) => c.table === 'swiftbrush/sbv2-reeval' && c.metric === 'fid')!;
}

test("a run's recorded FID protocol meets SBv2's table field by field: the one field that differs is named, none differing gives the difference", async () => {
  const p = prepared('coco2014-val');
  const evaluate = { captions: { annotations: p.annotations, protocol: 'sbv2-first-30k', count: 30000, seed: 0, prompt_prefix: '' }, metrics: [{ name: 'fid', reference: p.stats }], batch_size: 32 } as never;
  const base = await baseProtocol(evaluate, 'fp', 30000);
  const reference = await referenceFields(p.stats, 'clean', EXTRACTOR, { reference: '', sha256: p.npzSha });
  const ours = { ...base, ...featureMetricProtocol(reference, 'clean', { path: 'models/fid-inception.onnx', sha256: EXTRACTOR, input }, 2048) };
  assert.equal(ours.extractor, 'inception-v3-fid');
  // today the evaluate stage feeds generated images to the network as they are; SBv2 resizes them to 256 first
  const asRecorded = reportWith(ours);
  assert.equal(asRecorded.comparable, false);
  assert.deepEqual(asRecorded.reasons, ['generated_resize: center-crop-lanczos-256 in the paper vs none in ours']);
  // fid.resolution: 256 sends them through the same centre crop + LANCZOS first
  const resized = reportWith({ ...base, ...featureMetricProtocol(reference, 'clean', { path: 'models/fid-inception.onnx', sha256: EXTRACTOR, input }, 2048, 'center-crop-lanczos-256') });
  assert.equal(resized.comparable, true);
  assert.ok(Math.abs(resized.delta! - (16 - 15.46)) < 1e-12);
  // a copy that is not the official release, named as such by prepare, stays apart and says so
  const copy = prepared('coco2014-val copy with 22 images and 128 captions');
  const copyBase = await baseProtocol({ ...(evaluate as object), captions: { ...(evaluate as { captions: object }).captions, annotations: copy.annotations }, metrics: [{ name: 'fid', reference: copy.stats }] } as never, 'fp', 30000);
  const copyRef = await referenceFields(copy.stats, 'clean', EXTRACTOR, { reference: '', sha256: copy.npzSha });
  const apart = reportWith({ ...copyBase, ...featureMetricProtocol(copyRef, 'clean', { path: 'x.onnx', sha256: EXTRACTOR, input }, 2048), generated_resize: 'center-crop-lanczos-256' });
  assert.deepEqual(apart.reasons, [
    'dataset: coco2014-val in the paper vs coco2014-val copy with 22 images and 128 captions in ours',
    'reference: coco2014-val in the paper vs coco2014-val copy with 22 images and 128 captions in ours',
  ]);
});

test('fid.resolution: generated images resized as the reference protocol does, PNG by PNG, kept on a rerun', async () => {
  const { resizeImages, resizeProtocolOfSide, applyResizeProtocol } = await import('../../src/prepare/index.js');
  const { decodeImage } = await import('../../src/metrics/image/index.js');
  const sharp = (await import('sharp')).default;
  const dir = tempDir();
  const files = [];
  for (const [i, [w, h]] of [[300, 200], [181, 257]].entries()) {
    const data = Buffer.alloc(w! * h! * 3, 0).map((_, k) => (k * 31 + i * 7) & 255);
    const file = join(dir, `${String(i).padStart(6, '0')}.png`);
    writeFileSync(file, await sharp(data, { raw: { width: w!, height: h!, channels: 3 } }).png().toBuffer());
    files.push(file);
  }
  assert.equal(resizeProtocolOfSide(256), 'center-crop-lanczos-256');
  assert.throws(() => resizeProtocolOfSide(300), BadInputError);
  const out = join(dir, 'resized');
  const written = await resizeImages(files, 'center-crop-lanczos-256', out);
  assert.deepEqual(written, [join(out, '000000.png'), join(out, '000001.png')]);
  for (const [i, f] of files.entries()) {
    const expected = applyResizeProtocol(await decodeImage(f), 'center-crop-lanczos-256');
    const got = await decodeImage(written[i]!);
    assert.equal(got.width, 256);
    assert.deepEqual(got.data, expected.data);
  }
  // an output already there is not recomputed (a killed evaluation resumes)
  writeFileSync(written[0]!, 'kept');
  await resizeImages(files, 'center-crop-lanczos-256', out);
  assert.equal(readFileSync(written[0]!, 'utf8'), 'kept');
});
