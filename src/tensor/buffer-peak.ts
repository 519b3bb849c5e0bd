// The peak of the memory the backend's buffers hold while a function runs, counted per buffer. tf.memory().numBytes
// counts a tensor's bytes once per tensor object, so a reshape or a clone (which share their buffer) counts twice
// there; this follows the backend's own buffer table (the cpu and wasm backends keep one DataStorage entry per
// buffer, removed when its last tensor goes) instead.
import * as tf from '@tensorflow/tfjs';

interface StorageEntry {
  values?: { length: number; BYTES_PER_ELEMENT?: number } | undefined;
  shape?: number[] | undefined;
  dtype?: tf.DataType | undefined;
}

interface Storage {
  get(dataId: tf.DataId): StorageEntry | undefined;
  set(dataId: tf.DataId, value: StorageEntry): void;
  delete(dataId: tf.DataId): boolean;
}

const bytesOf = (e: StorageEntry | undefined): number => {
  if (e === undefined) return 0;
  const per = e.dtype === 'bool' ? 1 : 4;
  if (e.shape !== undefined) return e.shape.reduce((a, b) => a * b, 1) * per;
  return e.values === undefined ? 0 : e.values.length * (e.values.BYTES_PER_ELEMENT ?? per);
};

/** the backend's buffer table: `data` on cpu, `dataIdMap` on wasm */
const storageOf = (backend: tf.KernelBackend): Storage => {
  const b = backend as unknown as { data?: Storage; dataIdMap?: Storage };
  const s = b.dataIdMap ?? b.data;
  if (s === undefined || typeof s.set !== 'function') throw new Error(`buffer accounting: backend ${tf.getBackend()} has no buffer table (cpu and wasm have)`);
  return s;
};

/** runs fn; `peak` is the most bytes of buffers made during it that were alive at once, `end` those still alive after */
export function measureBufferPeak<T>(fn: () => T): { result: T; peak: number; end: number } {
  const storage = storageOf(tf.backend());
  const { set, delete: del } = storage;
  const sizes = new Map<tf.DataId, number>();
  let live = 0;
  let peak = 0;
  storage.set = function (dataId, value) {
    live += bytesOf(value) - (sizes.get(dataId) ?? 0);
    sizes.set(dataId, bytesOf(value));
    peak = Math.max(peak, live);
    set.call(this, dataId, value);
  };
  storage.delete = function (dataId) {
    // a buffer made before the measurement counts as freed memory too (live may go below zero)
    live -= sizes.get(dataId) ?? bytesOf(storage.get(dataId));
    sizes.delete(dataId);
    return del.call(this, dataId);
  };
  try {
    const result = fn();
    return { result, peak, end: live };
  } finally {
    storage.set = set;
    storage.delete = del;
  }
}
