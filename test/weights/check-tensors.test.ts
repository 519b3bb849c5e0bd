import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkTensors, tensorMismatches } from '../../src/weights/check-tensors.js';
import { openSafetensors } from '../../src/weights/safetensors-file.js';
import { BadInputError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';
import { f32, i64, raw, writeRaw } from '../helpers/safetensors-files.js';

const file = writeRaw(join(tempDir(), 'w.safetensors'), {
  'conv.weight': f32([2, 1, 1, 1], [1, 2]),
  'conv.bias': f32([3], [0, 0, 0]),
  'mask.u8': raw('U8', [1], new Uint8Array([1])),
  'text_model.embeddings.position_ids': i64([1, 2], [0n, 1n]),
  stray: f32([1], [0]),
});

test('checkTensors lists missing, unexpected, wrong-shape and unreadable tensors before any data is read', () => {
  const view = openSafetensors(file);
  try {
    const expected = new Map<string, number[]>([['conv.weight', [2, 1, 1, 1]], ['conv.bias', [2]], ['norm.weight', [2]], ['mask.u8', [1]]]);
    const ignore = (n: string): boolean => n.endsWith('position_ids');
    assert.deepEqual(tensorMismatches(view, expected, { ignoreUnexpected: ignore }), [
      { kind: 'shape', name: 'conv.bias', file, shape: [3], expected: [2] },
      { kind: 'missing', name: 'norm.weight', shape: [2] },
      { kind: 'dtype', name: 'mask.u8', file, dtype: 'U8' },
      { kind: 'unexpected', name: 'stray', file, shape: [1] },
    ]);
    assert.throws(
      () => checkTensors(view, expected, { ignoreUnexpected: ignore, limit: 2, what: 'unet' }),
      (e: unknown) =>
        e instanceof BadInputError &&
        e.code === 'WEIGHTS_MISMATCH' &&
        e.message === `unet: 4 tensor(s) do not fit the architecture: ${file}: conv.bias has shape [3], the architecture needs [2]; norm.weight [2] is missing; and 2 more`,
    );
    checkTensors(view, new Map([['conv.weight', [2, 1, 1, 1]], ['conv.bias', [3]]]), { ignoreUnexpected: () => true });
  } finally {
    view.close();
  }
});
