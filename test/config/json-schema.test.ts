import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { experimentJsonSchema } from '../../src/config/json-schema.js';
import { fromRoot } from '../helpers/paths.js';

test('the committed schema/experiment.schema.json matches the schema (regenerate: vsdlab schema --out schema/experiment.schema.json)', () => {
  const committed = JSON.parse(readFileSync(fromRoot('schema/experiment.schema.json'), 'utf8'));
  assert.deepEqual(committed, experimentJsonSchema());
});
