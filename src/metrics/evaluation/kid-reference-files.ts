// the KID reference memo on disk: content-addressed files beside the feature cache, so every cell of a study
// (in any worker process) reuses the reference set's self terms that the first cell computed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-write.js';
import type { KidReferenceMemo } from './kid-once.js';

export interface KidReferenceFiles extends KidReferenceMemo {
  /** resolves when every value set so far is on disk */
  flush(): Promise<void>;
}

/** `<dir>/kid-reference/<key>.f64`, little-endian float64; a missing or torn file is a miss */
export function kidReferenceFiles(dir: string): KidReferenceFiles {
  const pending: Array<Promise<void>> = [];
  const path = (key: string): string => join(dir, 'kid-reference', `${key}.f64`);
  return {
    get(key) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(path(key));
      } catch {
        return undefined;
      }
      if (bytes.byteLength % 8 !== 0) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return Float64Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
    },
    set(key, values) {
      const bytes = new Uint8Array(values.length * 8);
      const view = new DataView(bytes.buffer);
      values.forEach((v, i) => view.setFloat64(i * 8, v, true));
      pending.push(writeFileAtomically(path(key), bytes));
    },
    async flush() {
      await Promise.all(pending.splice(0));
    },
  };
}
