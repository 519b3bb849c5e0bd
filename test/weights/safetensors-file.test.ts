import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { BadInputError, MissingAssetError } from '../../src/errors.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { bits16, f32, i64, raw, writeRaw, writeWithHeader } from '../helpers/safetensors-files.js';

await tf.setBackend('cpu');

const dir = tempDir();
let n = 0;
const path = (): string => join(dir, `f${n++}.safetensors`);

const invalid = (file: string, ...parts: string[]) => (e: unknown): boolean => {
  assert.ok(e instanceof BadInputError, String(e));
  assert.equal(e.code, 'WEIGHTS_INVALID');
  assert.ok(e.message.startsWith(`${file}: `), e.message);
  for (const p of parts) assert.ok(e.message.includes(p), `${JSON.stringify(e.message)} names ${p}`);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
};

test('open reads the header only; tensors come on demand with their dtype converted', () => {
  const file = writeRaw(path(), {
    w: f32([2, 2], [1, -2, 3.5, 0]),
    h: bits16('F16', [3], [0x3c00, 0x0001, 0xfc00]),
    b: bits16('BF16', [2], [0x4049, 0x8000]),
    'text_model.embeddings.position_ids': i64([1, 3], [0n, 1n, 76n]),
  }, { format: 'pt' });
  const view = openSafetensors(file);
  try {
    assert.deepEqual(view.names(), ['b', 'h', 'text_model.embeddings.position_ids', 'w']);
    assert.deepEqual(view.info('h'), { name: 'h', dtype: 'F16', shape: [3], file });
    assert.equal(view.info('nope'), undefined);
    assert.deepEqual(view.metadata, { format: 'pt' });
    assert.deepEqual(view.files, [file]);
    const h = view.read('h');
    assert.equal(h.dtype, 'float32');
    assert.deepEqual(Array.from(h.values), [1, 2 ** -24, -Infinity]);
    assert.deepEqual(Array.from(view.read('b').values), [3.140625, -0]);
    const ids = view.read('text_model.embeddings.position_ids');
    assert.equal(ids.dtype, 'int32', 'I64 in the int32 range reads as int32');
    assert.deepEqual([ids.shape, Array.from(ids.values)], [[1, 3], [0, 1, 76]]);
    assert.deepEqual(Array.from(view.read('w').values), [1, -2, 3.5, 0]);
    assert.throws(() => view.read('nope'), (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_MISMATCH' && e.message === `${file}: no tensor nope`);
  } finally {
    view.close();
    view.close();
  }
});

test('loadSafetensors goes through the same reader and gives tfjs tensors', () => {
  const { tensors } = loadSafetensors(writeRaw(path(), { h: bits16('F16', [2], [0x3555, 0x7bff]), i: i64([2], [-5n, 2147483647n]) }));
  assert.deepEqual(tensors.h!.arraySync(), [0.333251953125, 65504]);
  assert.equal(tensors.i!.dtype, 'int32');
  assert.deepEqual(tensors.i!.arraySync(), [-5, 2147483647]);
});

test('I64 outside int32, and dtypes that are valid but not read, are refused by name; a load keeps no tensor', () => {
  const file = writeRaw(path(), { a: f32([1], [1]), big: i64([2], [1n, 2n ** 40n]), u: raw('U8', [2], new Uint8Array([1, 2])) });
  const view = openSafetensors(file); // a valid header: the refusal comes with the read
  try {
    assert.throws(() => view.read('big'), (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_UNSUPPORTED' && e.message.includes('tensor big (I64) holds 1099511627776 at element 1'));
    assert.throws(() => view.read('u'), (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_UNSUPPORTED' && e.message.startsWith(`${file}: tensor u has dtype U8`));
  } finally {
    view.close();
  }
  const before = tf.memory().numTensors;
  assert.throws(() => loadSafetensors(file), BadInputError);
  assert.equal(tf.memory().numTensors, before, 'nothing half-loaded');
});

test('a missing file is a missing asset; a folder is unreadable', () => {
  const gone = join(dir, 'gone.safetensors');
  assert.throws(() => openSafetensors(gone), (e: unknown) => e instanceof MissingAssetError && e.code === 'WEIGHTS_MISSING' && e.message.startsWith(gone));
  assert.throws(() => openSafetensors(dir), (e: unknown) => e instanceof BadInputError && e.code === 'WEIGHTS_UNREADABLE');
});

test('the numpy-written golden passes the strict header checks', () => {
  const view = openSafetensors(fromRoot('test/golden/weights/small.safetensors'));
  assert.deepEqual(view.names(), ['layer.a', 'layer.b']);
  view.close();
});

const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

test('each kind of header corruption is its own error, naming the file and the tensor', () => {
  let f = writeWithHeader(path(), '', 0);
  assert.throws(() => openSafetensors(f), invalid(f, 'too short for a JSON object'));
  f = path();
  writeWithHeader(f, {}, 0, 200_000_000n);
  assert.throws(() => openSafetensors(f), invalid(f, 'exceeds 100000000 bytes'));
  f = writeWithHeader(path(), {}, 0, 4096n);
  assert.throws(() => openSafetensors(f), invalid(f, 'header length 4096 runs past the end'));
  f = path();
  writeFileSync(f, new Uint8Array(5));
  assert.throws(() => openSafetensors(f), invalid(f, 'shorter than the 8-byte header length'));
  f = writeWithHeader(path(), '{"a": ', 0);
  assert.throws(() => openSafetensors(f), invalid(f, 'not UTF-8 JSON'));
  f = writeWithHeader(path(), [1, 2], 0);
  assert.throws(() => openSafetensors(f), invalid(f, 'not a JSON object'));
  f = writeWithHeader(path(), { __metadata__: { step: 7 } }, 0);
  assert.throws(() => openSafetensors(f), invalid(f, '__metadata__.step is not a string'));
  f = writeWithHeader(path(), { w: entry('F12', [1], [0, 4]) }, 4);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor w: unknown dtype "F12"'));
  f = writeWithHeader(path(), { w: entry('F32', [-1], [0, 4]) }, 4);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor w: shape [-1]'));
  f = writeWithHeader(path(), { w: entry('F32', [1], [0]) }, 4);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor w: data_offsets [0] is not [begin, end]'));
  f = writeWithHeader(path(), { w: entry('F32', [1], [4, 0]) }, 4);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor w: data_offsets [4, 0] end before they begin'));
  f = writeWithHeader(path(), { w: entry('F16', [3], [0, 8]) }, 8);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor w: shape [3] of F16 is 6 bytes, data_offsets [0, 8] span 8'));
  f = writeWithHeader(path(), { a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) }, 8);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor b: data_offsets [4, 8] overlaps the tensor before it'));
  f = writeWithHeader(path(), { a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, 12);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor b: data_offsets [8, 12] leaves a gap of 4 bytes'));
  f = writeWithHeader(path(), { a: entry('F32', [1], [0, 4]), b: entry('F32', [2], [4, 12]) }, 10);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor b: data_offsets end 12 runs past the end of the file'));
  f = writeWithHeader(path(), { a: entry('F32', [1], [0, 4]) }, 9);
  assert.throws(() => openSafetensors(f), invalid(f, 'tensor a: data_offsets end 4 is followed by 5 bytes no tensor owns'));
});
