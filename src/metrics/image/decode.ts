/**
 * Decoding image files to RGB uint8 the way `Image.open(path).convert('RGB')` does in Pillow.
 * sharp (libvips) decodes PNG/JPEG/WebP/TIFF/GIF; BMP and binary PPM/PGM, which its build lacks, are read by
 * hand (decode-bmp-pnm.ts). We ask sharp for the file's own samples (no ICC transform, no EXIF rotation,
 * no colourspace conversion, first page/frame only, as Pillow) and apply Pillow's convert rules ourselves
 * (convert-rgb.ts). JPEG: sharp bundles mozjpeg, a libjpeg-turbo fork with the same decoder (islow IDCT,
 * fancy upsampling) as the libjpeg-turbo 2.1.5 Debian's Pillow links; on our JPEG fixtures (4:2:0, 4:2:2,
 * 4:4:4, odd sizes, progressive, grey, CMYK, one with a libjpeg warning) the pixels are identical
 * (test/metrics/image/decode.test.ts). A Pillow linked to IJG libjpeg 9 upsamples chroma differently.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { BadInputError } from '../../errors.js';
import { decodeBmp, decodePnm, isBinaryPnm, isBmp } from './decode-bmp-pnm.js';
import { convertToRgb, type RawLayout } from './convert-rgb.js';
import type { RgbImage } from './types.js';

const describe = (input: string | Buffer, name?: string): string =>
  name ?? (typeof input === 'string' ? input : `<buffer of ${input.length} bytes>`);

// the colourspace sharp keeps the samples in: the file's own one, so libvips converts nothing
function pipelineSpace(space: string | undefined, depth: string | undefined): 'cmyk' | 'grey16' | 'rgb16' | undefined {
  if (space === 'cmyk') return 'cmyk';
  if (depth !== 'ushort') return undefined;
  return space === 'grey16' || space === 'b-w' ? 'grey16' : 'rgb16';
}

const LAYOUT_BY_CHANNELS: Record<number, RawLayout> = { 1: 'grey', 2: 'grey-alpha', 3: 'rgb', 4: 'rgba' };

/** Pillow's DecompressionBombError threshold (2 × Image.MAX_IMAGE_PIXELS). */
export const MAX_IMAGE_PIXELS = 2 * 89_478_485;

/**
 * Decode an image file (path) or its bytes to RGB uint8. Throws BadInputError (code 'IMAGE_UNREADABLE')
 * naming the file when it cannot be decoded; `name` labels a Buffer in that message.
 */
export async function decodeImage(input: string | Buffer, name?: string): Promise<RgbImage> {
  const label = describe(input, name);
  try {
    const bytes = typeof input === 'string' ? await readFile(input) : input;
    // libvips (as sharp ships it) has no BMP or PPM/PGM loader; pytorch-fid accepts both
    if (isBmp(bytes)) return decodeBmp(bytes);
    if (isBinaryPnm(bytes)) return decodePnm(bytes);
    // failOn 'truncated': like Pillow, refuse truncated files but decode through libjpeg/libpng warnings
    const options = { ignoreIcc: true, autoOrient: false, failOn: 'truncated' as const, limitInputPixels: false as const };
    const meta = await sharp(bytes, options).metadata();
    // a few hundred bytes may declare a gigapixel image (a decompression bomb): refuse from the header, before decoding
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > MAX_IMAGE_PIXELS) {
      throw new BadInputError('IMAGE_TOO_LARGE', `image ${label} declares ${meta.width}×${meta.height} pixels, over the ${MAX_IMAGE_PIXELS} Pillow also refuses (a decompression bomb?)`, 'remove the file from the folder, or pass --skip-bad');
    }
    const space = pipelineSpace(meta.space, meta.depth);
    let pipeline = sharp(bytes, options);
    if (space) pipeline = pipeline.pipelineColourspace(space).toColourspace(space);
    const sixteen = space === 'grey16' || space === 'rgb16';
    const { data, info } = await pipeline.raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const layout = space === 'cmyk' ? 'cmyk' : LAYOUT_BY_CHANNELS[info.channels];
    if (!layout || (layout === 'cmyk' && info.channels !== 4)) throw new Error(`decoder returned ${info.channels} channels`);
    if (!sixteen) {
      return convertToRgb({ width: info.width, height: info.height, layout, bits: 8, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    }
    // 16-bit samples come back in host byte order; copy to get an aligned view
    const samples = new Uint16Array(Uint8Array.from(data).buffer);
    if (layout === 'grey' && meta.hasAlpha) {
      // pillow reads 16-bit grey+alpha as RGBA from the high bytes; only a lone 16-bit grey becomes mode 'I'
      const high = Uint8Array.from(samples, (v) => v >> 8);
      return convertToRgb({ width: info.width, height: info.height, layout, bits: 8, data: high });
    }
    return convertToRgb({ width: info.width, height: info.height, layout, bits: 16, data: samples });
  } catch (err) {
    if (err instanceof BadInputError) throw err;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new BadInputError('IMAGE_UNREADABLE', `cannot decode image ${label}: ${reason}`, 'check the file is a complete PNG, JPEG, WebP, TIFF, GIF, BMP or PPM/PGM image');
  }
}
