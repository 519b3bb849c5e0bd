// A native backend that is asked for but not installed is one line saying how to install it, from selectBackend
// (vsdlab sample --backend) and from vsdlab run before any cell starts (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../src/tensor/index.js';
import { missingBackendPackage, packageInstalled, tfjsVersion } from '../../src/tensor/backend-choices.js';
import { BadInputError } from '../../src/errors.js';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const skip = packageInstalled(GPU_PACKAGE) ? `${GPU_PACKAGE} is installed here` : false;

test("selectBackend('tensorflow-gpu') without the package: BACKEND_UNAVAILABLE (not installed), the npm command and the CUDA it needs", { skip }, async () => {
  await assert.rejects(selectBackend('tensorflow-gpu'), (e: unknown) => {
    assert.ok(e instanceof BadInputError);
    assert.equal(e.code, 'BACKEND_UNAVAILABLE');
    assert.equal(e.message, `tensor backend 'tensorflow-gpu' needs ${GPU_PACKAGE}, which is not installed`);
    assert.match(e.hint ?? '', new RegExp(`npm install ${GPU_PACKAGE}@${tfjsVersion().replace(/\./g, '\\.')} .*CUDA 11\\.2 and cuDNN 8\\.1`));
    return true;
  });
  assert.equal(missingBackendPackage('auto'), undefined, 'auto needs no package');
  assert.equal(missingBackendPackage('wasm'), undefined);
});

test("'auto' without tfjs-node-gpu passes over it with the reason and takes another backend", { skip }, async () => {
  const info = await selectBackend('auto');
  assert.notEqual(info.name, 'tensorflow-gpu');
  assert.deepEqual(info.skipped[0], { name: 'tensorflow-gpu', reason: `${GPU_PACKAGE} is not installed` });
});

test('vsdlab run with distill.backend: tensorflow-gpu and no package: exit 2, one line and the hint, nothing started', { skip }, () => {
  const dir = tempDir();
  const store = join(dir, 'runs');
  const r = vsdlab(['run', 'test/fixtures/sd/teacher-rows.yaml', '--store', store, '--set', 'distill.backend=tensorflow-gpu']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.equal(lines[0], `vsdlab: distill.backend: tensor backend 'tensorflow-gpu' needs ${GPU_PACKAGE}, which is not installed (all 2 cells)`);
  assert.match(lines[1]!, /^hint: npm install @tensorflow\/tfjs-node-gpu@/);
  assert.equal(existsSync(store), false);
});
