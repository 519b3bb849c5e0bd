/** An 8-bit RGB image, rows top to bottom, pixels interleaved: data[(y * width + x) * 3 + c]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A float32 image in channel-first (CHW) order: data[(c * height + y) * width + x]. */
export interface PlanarImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Pillow resampling filters we reproduce (Image.Resampling.BICUBIC / LANCZOS / BILINEAR). */
export type PillowFilter = 'bicubic' | 'lanczos' | 'bilinear';

export const PILLOW_FILTERS: readonly PillowFilter[] = ['bicubic', 'lanczos', 'bilinear'];
