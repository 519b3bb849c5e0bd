import { resizePillow } from './pillow-resample.js';
import type { PillowFilter, RgbImage } from './types.js';

/** Python's round(): halves go to the even neighbour (torchvision's centre-crop offsets use it). */
export function pythonRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Copy a rectangle out of an RGB image (it must lie inside the image). */
export function cropRgb(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || width < 1 || height < 1 || left + width > img.width || top + height > img.height) {
    throw new RangeError(`crop ${width}x${height}+${left}+${top} outside ${img.width}x${img.height} image`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    data.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data };
}

export type CropRounding = 'torchvision' | 'floor';

/**
 * Centre crop to width×height. 'torchvision': offsets int(round((H − h) / 2)) with Python rounding
 * (torchvision CenterCrop, open_clip, OpenAI CLIP, GigaGAN/DMD2 square crops); 'floor': (H − h) // 2
 * (transformers' image processors). They differ only when H − h is odd.
 */
export function centerCrop(img: RgbImage, width: number, height: number, rounding: CropRounding = 'torchvision'): RgbImage {
  const offset = (d: number): number => (rounding === 'floor' ? Math.floor(d / 2) : pythonRound(d / 2));
  return cropRgb(img, offset(img.width - width), offset(img.height - height), width, height);
}

/** Square centre crop of the short side, as the COCO-30K protocol does before its LANCZOS resize. */
export function centerCropSquare(img: RgbImage, rounding: CropRounding = 'torchvision'): RgbImage {
  const s = Math.min(img.width, img.height);
  return centerCrop(img, s, s, rounding);
}

/**
 * The COCO-30K protocol's pre-resize (GigaGAN / DMD2 `resize_and_center_crop`): square centre crop of the
 * short side with torchvision rounding, then Pillow uint8 LANCZOS to side×side (256 for SD-class models).
 */
export function squareCropResize(img: RgbImage, side: number, filter: PillowFilter = 'lanczos'): RgbImage {
  return resizePillow(centerCropSquare(img), side, side, filter);
}
