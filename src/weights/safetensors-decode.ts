/**
 * A tensor's raw little-endian bytes as the values tfjs holds: F32, F16 and BF16 as float32 (exact), I32 as int32,
 * I64 as int32 when every value fits (int64 holds indices, such as a text encoder's `position_ids` buffer, and
 * no checkpoint index needs more than 31 bits); anything else is refused naming the file and the tensor.
 */
import { BadInputError } from '../errors.js';
import { bf16ToFloat32, f16ToFloat32, i64ToInt32, isReadable, READABLE_DTYPES } from './safetensors-dtype.js';
import type { TensorEntry } from './safetensors-header.js';
import type { TensorData } from './weight-view.js';

export function assertReadable(e: TensorEntry, source: string): void {
  if (!isReadable(e.dtype)) {
    throw new BadInputError('WEIGHTS_UNSUPPORTED', `${source}: tensor ${e.name} has dtype ${e.dtype}, not one of ${READABLE_DTYPES.join(', ')}`, 'convert the checkpoint to float32 or float16');
  }
}

/** `bytes` is viewed in place when it is a buffer of its own, else copied (typed-array views need alignment) */
export function decodeTensorBytes(e: TensorEntry, bytes: Uint8Array, source: string): TensorData {
  assertReadable(e, source);
  const { name } = e;
  const shape = [...e.shape];
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  switch (e.dtype) {
    case 'F32':
      return { name, shape, dtype: 'float32', values: new Float32Array(own.buffer) };
    case 'F16':
      return { name, shape, dtype: 'float32', values: f16ToFloat32(own) };
    case 'BF16':
      return { name, shape, dtype: 'float32', values: bf16ToFloat32(own) };
    case 'I32':
      return { name, shape, dtype: 'int32', values: new Int32Array(own.buffer) };
    case 'I64': {
      const values = i64ToInt32(own);
      if (!(values instanceof Int32Array)) {
        throw new BadInputError('WEIGHTS_UNSUPPORTED', `${source}: tensor ${name} (I64) holds ${values.value} at element ${values.outOfRange}, outside the int32 range`, 'only int64 tensors whose values fit int32 are read');
      }
      return { name, shape, dtype: 'int32', values };
    }
    default:
      throw new Error(`unreachable: ${e.dtype}`);
  }
}
