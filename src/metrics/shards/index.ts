// sharded evaluation state: which images a shard owns, what it leaves on disk, and the exact merge.
export { shardRange, shardBatches, parseShardSpec, type ShardRange } from './shard-range.js';
export { readShardState, writeShardState, shardStatePath, type ShardState } from './shard-state.js';
export { mergeShards, mergedStatistics, type MergedShards } from './shard-merge.js';
