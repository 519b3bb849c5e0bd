// Property-based fuzzing (fast-check) of every reader of user files: hostile or damaged input must end in a typed
// VsdlabError (exit 2 with one line), never an unhandled exception, a hang or a giant allocation.
// 1,000 cases per target here; VSDLAB_FUZZ_RUNS=10000 for the full mode (RELIABILITY.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { VsdlabError } from '../../src/errors.js';
import { IssuesError } from '../../src/util/issues.js';
import { planExperiment } from '../../src/plan/plan.js';
import { decodeNpz, decodeStatsNpz, encodeNpz, encodeStatsNpz } from '../../src/metrics/stats/npz-stats.js';
import { decodeNpy, encodeNpy } from '../../src/metrics/stats/npy-format.js';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { encodeRawSafetensors } from '../../src/weights/safetensors.js';
import { parseCaptionList } from '../../src/data/caption-list.js';
import { cocoCaptionsFromJson } from '../../src/data/coco-load.js';
import { tryParseCaption } from '../../src/data/caption-parse.js';
import { tempDir } from '../helpers/temp.js';

const RUNS = Number(process.env.VSDLAB_FUZZ_RUNS ?? 1000);
const params = { numRuns: RUNS, seed: 18, endOnFailure: true };

/** the property: `f` returns, or throws a VsdlabError; anything else is a crash */
async function typedOrOk(f: () => unknown): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    if (e instanceof VsdlabError) {
      // an experiment's problems are listed one per line (IssuesError); every other error is one line
      if (!(e instanceof IssuesError)) assert.ok(!e.message.includes('\n'), `one-line message: ${JSON.stringify(e.message)}`);
      return true;
    }
    throw e;
  }
}

/** damaged copies of a valid file: bit flips, truncation, a run of random bytes written over it, bytes inserted */
const damaged = (valid: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]) => {
      const b = Uint8Array.from(valid);
      const at = i % b.length;
      b[at] = (b[at] ?? 0) ^ (1 << bit);
      return b;
    }),
    fc.nat().map((n) => valid.slice(0, n % valid.length)),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, bytes]) => {
      const b = Uint8Array.from(valid);
      b.set(bytes.subarray(0, Math.max(0, b.length - (i % b.length))), i % b.length);
      return b;
    }),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, bytes]) => {
      const at = i % (valid.length + 1);
      return Uint8Array.from([...valid.subarray(0, at), ...bytes, ...valid.subarray(at)]);
    }),
  );

test(`.npy / .npz / statistics readers: ${RUNS} damaged files each end in a typed error or a value`, async () => {
  const mu = Float64Array.from([0.5, -1, 2]);
  const sigma = Float64Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0.1));
  const npy = encodeNpy(mu, [3]);
  const npz = encodeStatsNpz({ mu, sigma });
  const zipped = encodeNpz({ mu: { data: mu, shape: [3] }, sigma: { data: sigma, shape: [3, 3] } }, true);
  await fc.assert(fc.asyncProperty(damaged(npy), (b) => typedOrOk(() => decodeNpy(b, 'fuzz.npy'))), params);
  await fc.assert(fc.asyncProperty(damaged(npz), (b) => typedOrOk(() => decodeStatsNpz(b, 'fuzz.npz'))), params);
  await fc.assert(fc.asyncProperty(damaged(zipped), (b) => typedOrOk(() => decodeNpz(b, 'fuzz-compressed.npz'))), params);
});

test(`safetensors reader: ${RUNS} damaged files end in a typed error or whole tensors`, async () => {
  const dir = tempDir();
  const valid = encodeRawSafetensors(
    { w: { dtype: 'F32', shape: [2, 3], bytes: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer) }, b: { dtype: 'I32', shape: [2], bytes: new Uint8Array(new Int32Array([7, 8]).buffer) } },
    { step: '3' },
  );
  // the header as JSON the generator can rewrite: absurd offsets, shapes, dtypes and lengths
  const header = fc.record({
    w: fc.record({ dtype: fc.constantFrom('F32', 'F16', 'BF16', 'I32', 'U8', 'F64', 'X'), shape: fc.array(fc.oneof(fc.nat(4), fc.constant(2 ** 40), fc.constant(-1)), { maxLength: 4 }), data_offsets: fc.tuple(fc.oneof(fc.nat(64), fc.constant(2 ** 53)), fc.oneof(fc.nat(64), fc.constant(2 ** 53))) }),
  });
  const rewritten = fc.tuple(header, fc.uint8Array({ maxLength: 64 }), fc.option(fc.oneof(fc.nat(200), fc.constant(2 ** 52)))).map(([h, data, declared]) => {
    const json = Buffer.from(JSON.stringify(h));
    const out = Buffer.alloc(8 + json.length + data.length);
    out.writeBigUInt64LE(BigInt(declared ?? json.length));
    json.copy(out, 8);
    out.set(data, 8 + json.length);
    return new Uint8Array(out);
  });
  let i = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(damaged(valid), rewritten), (bytes) => {
      const path = join(dir, `f${i++ % 8}.safetensors`);
      writeFileSync(path, bytes);
      return typedOrOk(() => {
        const view = openSafetensors(path);
        for (const name of view.names()) view.read(name);
      });
    }),
    params,
  );
});

test(`caption readers: ${RUNS} caption lists, COCO caption files and captions of any bytes end in a typed error or captions`, async () => {
  const valid = Buffer.from(JSON.stringify({ labels: [['00000/img00000000.png', 'a red circle'], ['00000/img00000001.png', 'a blue square']] }));
  const lines = Buffer.from('a red circle\na blue square\n');
  await fc.assert(fc.asyncProperty(fc.oneof(damaged(valid), damaged(lines), fc.string().map((s) => Buffer.from(s))), (b) => typedOrOk(() => parseCaptionList(b, 'fuzz.txt'))), params);
  const coco = { images: [{ id: 1, file_name: 'a.png', width: 32, height: 32 }], annotations: [{ id: 1, image_id: 1, caption: 'a red circle' }] };
  const json = fc.jsonValue({ maxDepth: 4 });
  const mutated = fc.record({ images: fc.oneof(json, fc.constant(coco.images), fc.array(fc.record({ id: json, file_name: json }))), annotations: fc.oneof(json, fc.constant(coco.annotations), fc.array(fc.record({ id: json, image_id: json, caption: json }))) });
  await fc.assert(fc.asyncProperty(fc.oneof(json, mutated), (v) => typedOrOk(() => cocoCaptionsFromJson(v, 'fuzz.json'))), params);
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => typeof tryParseCaption(s).ok === 'boolean'), params);
});

// experiment files: the schema's own words, so the generator reaches the deep checks (grid, zip, exclude, extends)
const KEYS = ['name', 'description', 'extends', 'base', 'matrix', 'zip', 'exclude', 'include', 'seeds', 'slug_keys', 'bogus'];
const DOTTED = ['distill.steps', 'distill.student.parameterization', 'distill.lora_teacher.enabled', 'generate.sampler', 'generate.steps', 'seed', 'evaluate.metrics', 'nope.key'];
const scalar = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.boolean(), fc.constantFrom('eps', 'x0', 'v', 'ddim', 'one-step', '', 'x'), fc.constant(null), fc.double());
const values = fc.array(scalar, { maxLength: 4 });
const experiment = fc.dictionary(
  fc.constantFrom(...KEYS),
  fc.oneof(
    scalar,
    values,
    fc.dictionary(fc.constantFrom(...DOTTED), fc.oneof(values, scalar), { maxKeys: 3 }),
    fc.array(fc.dictionary(fc.constantFrom(...DOTTED), scalar, { maxKeys: 2 }), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('pair', 'other'), fc.array(fc.dictionary(fc.constantFrom(...DOTTED), scalar, { maxKeys: 2 }), { maxLength: 3 }), { maxKeys: 2 }),
    fc.constantFrom('self.yaml', 'missing.yaml', '../x.yaml'),
  ),
  { maxKeys: 6 },
);

test(`experiment parser and grid expansion: ${RUNS} generated experiment files (and raw text) end in a typed error or a plan`, async () => {
  const dir = tempDir();
  const file = join(dir, 'self.yaml');
  const text = fc.oneof(
    experiment.map((e) => stringify(e)),
    experiment.map((e) => stringify(e)).chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('a: &x [*x]', 'a: !!binary zz', '? [a]\n: b', 'a: 1\na: 2', '- x', '{', '\t- a', 'name: x\nmatrix: {a: [1]}\nextends: self.yaml'),
  );
  await fc.assert(
    fc.asyncProperty(text, (yaml) => {
      writeFileSync(file, yaml);
      return typedOrOk(() => planExperiment(file, { hashAsset: async () => 'h' }));
    }),
    params,
  );
});
