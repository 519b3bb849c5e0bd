import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fromRoot } from './paths.js';

test('repoRoot points at the source tree', () => {
  assert.ok(existsSync(fromRoot('package.json')));
  assert.ok(existsSync(fromRoot('test', 'helpers', 'paths.ts')));
});
