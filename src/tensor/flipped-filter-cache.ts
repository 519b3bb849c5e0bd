import type * as tf from '@tensorflow/tfjs';

// the conv input gradient's flipped, channel-swapped sub-filters, kept between calls: a frozen teacher's filters
// are the same buffers every step, so rebuilding (and re-writing into the backend) their flipped copies is waste.
// Safety rests on three things:
//  - entries are keyed by the filter's dataId object, and evicted when the backend frees that buffer (disposeData is
//    wrapped once per backend): a freed dataId can come back to life with other values (the backend's move()),
//    and its heap memory goes to other tensors;
//  - the one sanctioned in-place writer (FloatStorage.writable, the optimiser's moments) calls forgetFlipped first;
//  - the cache holds at most MAX_BYTES of flipped filters, dropping the oldest first.

/** bytes of flipped filters kept per backend; the embedded width's teacher needs a few MiB */
export const MAX_BYTES = 64 * 1024 * 1024;

interface Entry {
  info: tf.TensorInfo;
  bytes: number;
}

interface BackendCache {
  /** filter dataId -> sub-filter key -> entry; Map order is insertion order, the eviction order */
  byFilter: Map<tf.DataId, Map<string, Entry>>;
  bytes: number;
  /** the backend's own disposeData, which frees a flipped copy without a lookup here */
  free: (dataId: tf.DataId) => void;
}

const caches = new WeakMap<tf.KernelBackend, BackendCache>();
/** every cache, so forgetFlipped can reach entries without knowing the backend */
const all = new Set<BackendCache>();

const dropFilter = (cache: BackendCache, dataId: tf.DataId): void => {
  const entries = cache.byFilter.get(dataId);
  if (entries === undefined) return;
  cache.byFilter.delete(dataId);
  for (const e of entries.values()) {
    cache.bytes -= e.bytes;
    cache.free(e.info.dataId);
  }
};

const cacheOf = (backend: tf.KernelBackend): BackendCache => {
  const cache = caches.get(backend);
  if (cache !== undefined) return cache;
  const original = backend.disposeData.bind(backend);
  const made: BackendCache = { byFilter: new Map(), bytes: 0, free: (dataId) => void original(dataId, true) };
  caches.set(backend, made);
  all.add(made);
  // evict once the buffer is really freed (a shared buffer only loses a reference)
  backend.disposeData = (dataId: tf.DataId, force?: boolean): boolean => {
    const freed = original(dataId, force);
    if (freed) dropFilter(made, dataId);
    return freed;
  };
  return made;
};

/**
 * the flipped sub-filter of `filter` under `key` (the sub-filter geometry), built by `build` on a miss; the
 * returned info belongs to the cache: the caller must not dispose it
 */
export const cachedFlipped = (backend: tf.KernelBackend, filter: tf.TensorInfo, key: string, build: () => tf.TensorInfo): tf.TensorInfo => {
  const cache = cacheOf(backend);
  // a reshaped view shares the dataId, so the shape is part of the key
  const fullKey = `${filter.dtype}|${filter.shape.join(',')}|${key}`;
  const hit = cache.byFilter.get(filter.dataId)?.get(fullKey);
  if (hit !== undefined) return hit.info;
  const info = build();
  const bytes = info.shape.reduce((a, b) => a * b, 1) * 4;
  let entries = cache.byFilter.get(filter.dataId);
  if (entries === undefined) {
    entries = new Map();
    cache.byFilter.set(filter.dataId, entries);
  }
  entries.set(fullKey, { info, bytes });
  cache.bytes += bytes;
  // bound the memory: drop whole filters, oldest first, never the one just added
  for (const id of cache.byFilter.keys()) {
    if (cache.bytes <= MAX_BYTES) break;
    if (id !== filter.dataId) dropFilter(cache, id);
  }
  return info;
};

/** forgets every flipped copy of the buffer `dataId`: call it before writing that buffer in place */
export const forgetFlipped = (dataId: tf.DataId): void => {
  for (const cache of all) dropFilter(cache, dataId);
};

/** how many flipped sub-filters `backend` holds, and their bytes (for tests) */
export const flippedCacheSize = (backend: tf.KernelBackend): { entries: number; bytes: number } => {
  const cache = caches.get(backend);
  if (cache === undefined) return { entries: 0, bytes: 0 };
  let entries = 0;
  for (const m of cache.byFilter.values()) entries += m.size;
  return { entries, bytes: cache.bytes };
};
