/**
 * Network-input preprocessing, one pure function per reference implementation (metrics.md §0–§3, §5, §9):
 * RGB uint8 (HWC) in, float32 CHW out. Callers choose by name through PREPROCESS_MODES / preprocess().
 */
import { BadInputError } from '../../errors.js';
import { centerCrop, type CropRounding } from './crop.js';
import { resizePillowFloatChannels, resizePillowU8 } from './pillow-resample.js';
import { tf1Bilinear } from './tf1-bilinear.js';
import { torchBilinear, torchBilinearAntialias } from './torch-interpolate.js';
import type { PlanarImage, RgbImage } from './types.js';

const f32 = Math.fround;

export const PREPROCESS_MODE_NAMES = [
  'clean',
  'legacy-pytorch',
  'legacy-tensorflow',
  'torchmetrics',
  'clip',
  'clip-hf',
] as const;
export type PreprocessModeName = (typeof PREPROCESS_MODE_NAMES)[number];

export interface PreprocessMode {
  name: PreprocessModeName;
  /** the reference this reproduces */
  description: string;
  /** side of the square network input (299 for Inception, 224 for CLIP) */
  size: number;
  /** `size` overrides the network side (tests use small sizes; the maths is unchanged) */
  run: (img: RgbImage, size?: number) => PlanarImage;
}

function checkRgb(img: RgbImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new RangeError(`image sizes must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`expected ${img.width * img.height * 3} bytes for a ${img.width}x${img.height} RGB image, got ${img.data.length}`);
  }
}

/** HWC uint8 → CHW float32, each sample divided by `divisor` in float32 (torch's ToTensor when 255). */
function toPlanar(img: RgbImage, divisor = 1): PlanarImage {
  const { width, height, data } = img;
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const base = c * n;
    if (divisor === 1) for (let p = 0; p < n; p++) out[base + p] = data[p * 3 + c]!;
    else for (let p = 0; p < n; p++) out[base + p] = data[p * 3 + c]! / divisor;
  }
  return { width, height, channels: 3, data: out };
}

// (x − 128) / 128 in float32, in place: the TF graph, clean-fid's torchscript, torch-fidelity, torchmetrics
function inceptionScaleInPlace(img: PlanarImage): PlanarImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = f32(d[i]! - 128) * 0.0078125; // × 1/128 is exact
  return img;
}

// pytorch-fid's 2x − 1 in float32, in place
function twiceMinusOneInPlace(img: PlanarImage): PlanarImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = f32(2 * d[i]!) - 1;
  return img;
}

/** clean-fid "clean": per channel Pillow bicubic on float32 'F' images, clip to [0,255], then (x − 128)/128. */
export function preprocessClean(img: RgbImage, size = 299): PlanarImage {
  checkRgb(img);
  // each channel goes through pillow's 'F' path on its own (uint8 samples are exact in float32)
  const hwc = resizePillowFloatChannels(img.data, img.width, img.height, 3, size, size, 'bicubic');
  const n = size * size;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let p = 0, q = c; p < n; p++, q += 3) {
      const v = hwc[q]!;
      // × 1/128 is exact, so it equals torch's / 128
      out[c * n + p] = f32((v < 0 ? 0 : v > 255 ? 255 : v) - 128) * 0.0078125;
    }
  }
  return { width: size, height: size, channels: 3, data: out };
}

/** pytorch-fid: ToTensor (v/255), torch bilinear (align_corners=False, no antialias), then 2x − 1. */
export function preprocessLegacyPytorch(img: RgbImage, size = 299): PlanarImage {
  checkRgb(img);
  return twiceMinusOneInPlace(torchBilinear(toPlanar(img, 255), size, size));
}

/** TTUR / torch-fidelity / torchmetrics(antialias=False) / clean-fid legacy_tensorflow: TF1 bilinear, (x − 128)/128. */
export function preprocessLegacyTensorflow(img: RgbImage, size = 299): PlanarImage {
  checkRgb(img);
  return inceptionScaleInPlace(tf1Bilinear(toPlanar(img), size, size));
}

/** torchmetrics ≥ 1.8 default: torch bilinear with antialias=True on [0,255] floats, then (x − 128)/128. */
export function preprocessTorchmetrics(img: RgbImage, size = 299): PlanarImage {
  checkRgb(img);
  return inceptionScaleInPlace(torchBilinearAntialias(toPlanar(img), size, size));
}

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Pillow uint8 bicubic so the short side is `size` (long side int(size·long/short)), then a centre crop. */
export function clipResizeCrop(img: RgbImage, size: number, rounding: CropRounding): RgbImage {
  checkRgb(img);
  const { width: w, height: h } = img;
  const [nw, nh] = w <= h ? [size, Math.trunc((size * h) / w)] : [Math.trunc((size * w) / h), size];
  const resized: RgbImage =
    nw === w && nh === h ? img : { width: nw, height: nh, data: resizePillowU8(img.data, w, h, 3, nw, nh, 'bicubic') };
  return centerCrop(resized, size, size, rounding);
}

function clipNormalize(img: RgbImage, hfRescale: boolean): PlanarImage {
  const out = toPlanar(img, hfRescale ? 1 : 255);
  const n = img.width * img.height;
  const d = out.data;
  const inv255 = 1 / 255;
  for (let c = 0; c < 3; c++) {
    const m = f32(CLIP_MEAN[c]!);
    const s = f32(CLIP_STD[c]!);
    // transformers rescales as float64 v·(1/255) cast to float32; torchvision divides in float32 (toPlanar)
    if (hfRescale) for (let p = c * n; p < (c + 1) * n; p++) d[p] = f32(f32(d[p]! * inv255) - m) / s;
    else for (let p = c * n; p < (c + 1) * n; p++) d[p] = f32(d[p]! - m) / s;
  }
  return out;
}

/** open_clip / OpenAI CLIP (torchvision on PIL): Resize(size, BICUBIC), CenterCrop (round), ToTensor, Normalize. */
export function preprocessClip(img: RgbImage, size = 224): PlanarImage {
  return clipNormalize(clipResizeCrop(img, size, 'torchvision'), false);
}

/** transformers CLIPImageProcessor (slow path, as torchmetrics' CLIPScore uses): floor crop, float64 rescale. */
export function preprocessClipHf(img: RgbImage, size = 224): PlanarImage {
  return clipNormalize(clipResizeCrop(img, size, 'floor'), true);
}

export const PREPROCESS_MODES: Readonly<Record<PreprocessModeName, PreprocessMode>> = {
  clean: {
    name: 'clean',
    description: 'clean-fid mode="clean": Pillow float bicubic per channel to 299, (x-128)/128',
    size: 299,
    run: preprocessClean,
  },
  'legacy-pytorch': {
    name: 'legacy-pytorch',
    description: 'pytorch-fid: x/255, torch bilinear (align_corners=False, no antialias) to 299, 2x-1',
    size: 299,
    run: preprocessLegacyPytorch,
  },
  'legacy-tensorflow': {
    name: 'legacy-tensorflow',
    description: 'TTUR / torch-fidelity / torchmetrics(antialias=False): TF1 bilinear to 299, (x-128)/128',
    size: 299,
    run: preprocessLegacyTensorflow,
  },
  torchmetrics: {
    name: 'torchmetrics',
    description: 'torchmetrics >= 1.8 FID default: torch bilinear antialias=True to 299, (x-128)/128',
    size: 299,
    run: preprocessTorchmetrics,
  },
  clip: {
    name: 'clip',
    description: 'open_clip / OpenAI CLIP: Pillow uint8 bicubic short side 224, torchvision centre crop, CLIP mean/std',
    size: 224,
    run: preprocessClip,
  },
  'clip-hf': {
    name: 'clip-hf',
    description: 'transformers CLIPImageProcessor (torchmetrics CLIPScore): as clip, floor crop offsets',
    size: 224,
    run: preprocessClipHf,
  },
};

export function isPreprocessMode(name: string): name is PreprocessModeName {
  return (PREPROCESS_MODE_NAMES as readonly string[]).includes(name);
}

/** Preprocess an RGB image for the network named by `mode` (throws BadInputError for an unknown mode). */
export function preprocess(mode: string, img: RgbImage, size?: number): PlanarImage {
  if (!isPreprocessMode(mode)) {
    throw new BadInputError(
      'PREPROCESS_MODE_UNKNOWN',
      `unknown image preprocessing mode "${mode}"`,
      `use one of: ${PREPROCESS_MODE_NAMES.join(', ')}`,
    );
  }
  return PREPROCESS_MODES[mode].run(img, size);
}
