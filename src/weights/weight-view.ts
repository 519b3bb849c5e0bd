/**
 * A lazy view of named weights: the names, dtypes and shapes come first (from headers), the data only when a tensor
 * is read, so a loader checks a whole checkpoint against its architecture before it reads a byte of data.
 * One safetensors file (safetensors-file.ts) and a sharded checkpoint (safetensors-index.ts) are both one.
 */
import type { SafetensorsDtype } from './safetensors-dtype.js';

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** the file that holds it */
  file: string;
}

/** a tensor's values as tfjs holds them: floats as float32, integers as int32 */
export type TensorData = { name: string; shape: number[] } & ({ dtype: 'float32'; values: Float32Array } | { dtype: 'int32'; values: Int32Array });

export interface WeightView {
  /** every file the view reads (a shard index lists its shards after itself) */
  readonly files: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** the tensor names, sorted */
  names(): string[];
  info(name: string): TensorInfo | undefined;
  /** reads one tensor; a name not in the view, an unreadable dtype or a short file is a BadInputError */
  read(name: string): TensorData;
  /** closes the files; reading afterwards is an error. Calling it twice is harmless. */
  close(): void;
}
