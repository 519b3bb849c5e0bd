import * as tf from '@tensorflow/tfjs';
import { forgetFlipped } from './flipped-filter-cache.js';
import { isWasmHeapBackend } from './wasm-heap.js';

// a JS pass that reads and writes tensors' float32 values directly, for work that is a handful of element-wise
// operations on many small tensors (the optimiser) where tfjs' per-op overhead would cost more than the math.
// wasm keeps each tensor in its heap (a view, no copy); cpu keeps a Float32Array per tensor.

/** the part of tfjs-backend-cpu's MathBackendCPU used here */
interface CpuBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } | undefined };
}

/** the engine's record of which backend holds each buffer (tfjs-core's Engine.state.tensorInfo) */
interface EngineState {
  state: { tensorInfo: { get(dataId: tf.DataId): { backend: tf.KernelBackend } | undefined } };
}

const isCpuBackend = (b: tf.KernelBackend): b is tf.KernelBackend & CpuBackend => typeof (b as Partial<CpuBackend>).data?.get === 'function';

/**
 * Direct float32 access to the tensors of the active backend. Views of the wasm heap are detached when the heap
 * grows, so a caller allocates every tensor it needs (`allocate`) before it takes any view, and calls no tfjs op
 * while it holds views.
 */
export interface FloatStorage {
  readonly kind: 'wasm' | 'cpu';
  /** the values behind `t`, without a copy */
  view(t: tf.Tensor): Float32Array;
  /**
   * whether JS may overwrite `t`'s values in place: no other tensor shares its buffer. Always false on cpu,
   * where a tensor made by tf.tensor(array) keeps the caller's array itself
   */
  writable(t: tf.Tensor): boolean;
  /** a new float32 tensor of `shape` whose values the caller writes (uninitialised on wasm) */
  allocate(shape: readonly number[]): tf.Tensor;
}

const ownerOf = (t: tf.Tensor): tf.KernelBackend | undefined => (tf.engine() as unknown as EngineState).state.tensorInfo.get(t.dataId)?.backend;

const checked = (t: tf.Tensor, backend: tf.KernelBackend): void => {
  if (t.dtype !== 'float32') throw new Error(`float storage: a ${t.dtype} tensor, float32 expected`);
  if (t.isDisposed) throw new Error('float storage: the tensor is disposed');
  // a tensor made before a backend switch still lives on the old backend until an op moves it
  if (ownerOf(t) !== backend) throw new Error(`float storage: the tensor is not on the active backend (${tf.getBackend()})`);
};

/** direct access for the active backend, or undefined where JS cannot reach tensor values (tfjs-node, webgl) */
export const floatStorage = (): FloatStorage | undefined => {
  const name = tf.getBackend();
  const backend = tf.backend();
  if (name === 'wasm' && isWasmHeapBackend(backend)) {
    return {
      kind: 'wasm',
      view: (t) => {
        checked(t, backend);
        return backend.typedArrayFromHeap(t) as Float32Array;
      },
      writable: (t) => {
        checked(t, backend);
        const sole = backend.refCount(t.dataId) === 1;
        // the caller writes t in place next: no flipped copy of its old values may outlive that
        if (sole) forgetFlipped(t.dataId);
        return sole;
      },
      allocate: (shape) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput([...shape], 'float32'), backend),
    };
  }
  if (name === 'cpu' && isCpuBackend(backend)) {
    return {
      kind: 'cpu',
      view: (t) => {
        checked(t, backend);
        const values = backend.data.get(t.dataId)?.values;
        if (!(values instanceof Float32Array)) throw new Error('float storage: the cpu backend holds no Float32Array for this tensor');
        return values;
      },
      writable: () => false,
      allocate: (shape) => {
        const size = shape.reduce((a, b) => a * b, 1);
        return tf.engine().makeTensorFromDataId(backend.write(new Float32Array(size), [...shape], 'float32'), [...shape], 'float32', backend);
      },
    };
  }
  return undefined;
};
