import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import { FeatureAccumulator } from '../../../src/metrics/stats/feature-accumulator.js';
import { readShardState, shardStatePath, writeShardState, type ShardState } from '../../../src/metrics/shards/index.js';
import { tempDir } from '../../helpers/temp.js';

const rows = Float32Array.from({ length: 5 * 3 }, (_, i) => Math.sin(i) * 10);
const state: ShardState = {
  index: 1,
  shards: 4,
  start: 5,
  end: 10,
  files: ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'],
  extractor: 'f'.repeat(64),
  resolution: 299,
  mode: 'clean',
  snapshot: new FeatureAccumulator(3).add(rows).snapshot(),
  features: rows,
  cosines: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5]),
  clip: 'x+y',
};

test('a shard state reads back exactly as written; none before it is written', async () => {
  const dir = tempDir();
  assert.equal(readShardState(dir, 1, 4), undefined);
  await writeShardState(dir, state);
  assert.deepEqual(readShardState(dir, 1, 4), state);
});

test('a shard state whose .npz changed after its JSON was written is refused, naming the file', async () => {
  const dir = tempDir();
  const json = await writeShardState(dir, state);
  assert.equal(json, shardStatePath(dir, 1, 4));
  const npz = json.replace(/\.json$/, '.npz');
  assert.ok(existsSync(npz));
  appendFileSync(npz, 'x');
  assert.throws(() => readShardState(dir, 1, 4), (e: Error) => e.message.includes(npz) && /sha256/.test(e.message));
});
