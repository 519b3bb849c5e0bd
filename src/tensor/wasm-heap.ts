import type * as tf from '@tensorflow/tfjs';

/** the part of tfjs-backend-wasm's BackendWasm that vsdlab's kernels use: tensors live in its heap, read as views */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** the element arrays a wasm heap view can be */
export type NumericArray = Float32Array | Int32Array | Uint8Array;

export const isWasmHeapBackend = (backend: tf.KernelBackend): backend is tf.KernelBackend & WasmHeapBackend =>
  typeof (backend as Partial<WasmHeapBackend>).makeOutput === 'function' && typeof (backend as Partial<WasmHeapBackend>).typedArrayFromHeap === 'function';
