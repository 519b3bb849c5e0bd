// sha256 of files and bytes: the extractor's identity and the feature cache's image key.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** streams the file, so a multi-gigabyte model is hashed without loading it whole. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
