// decoded images kept by content for the length of one evaluation: FID, CLIP score and faithfulness read the same
// generated images, each in its own preprocessing, and decoding (sharp: two libvips pipelines per image) was most of
// the non-network work of a 32×32 cell. Decoding is exact, so a memo changes no pixel.
import { decodeImage, type RgbImage } from '../image/index.js';
import { sha256 } from '../../util/hash.js';

/** a drop-in for the feature stream's `decode`; keeps up to `budgetBytes` of pixels, decodes the rest every time */
export function decodeMemo(budgetBytes = 64 * 2 ** 20): (bytes: Buffer, name: string) => Promise<RgbImage> {
  const memo = new Map<string, Promise<RgbImage>>();
  let held = 0;
  return async (bytes, name) => {
    const key = sha256(bytes);
    const hit = memo.get(key);
    if (hit) return hit;
    const decoded = decodeImage(bytes, name);
    if (held >= budgetBytes) return decoded;
    memo.set(key, decoded);
    try {
      const image = await decoded;
      held += image.data.byteLength;
      return image;
    } catch (err) {
      memo.delete(key);
      throw err;
    }
  };
}
