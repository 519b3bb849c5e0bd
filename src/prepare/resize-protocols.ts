/**
 * Reference-image resize protocols of the COCO-30K evaluations: square centre crop of the short side
 * (torchvision `center_crop(img, min(img.size))`, Python rounding of the offsets), then Pillow uint8 LANCZOS to
 * side x side. This is SwiftBrush v2's `tools/resize.py` (PhiHoc/SwiftBrushV2 @ 1f141de, the GigaGAN/DMD2
 * `resize_and_center_crop` it copies), saved as PNG; its `eval/fid.py --no-crop` then runs clean-fid on that folder.
 */
import sharp from 'sharp';
import { squareCropResize, type RgbImage } from '../metrics/image/index.js';

export interface ResizeProtocol {
  name: ResizeProtocolName;
  side: number;
  description: string;
}

export const RESIZE_PROTOCOLS = {
  'center-crop-lanczos-256': { name: 'center-crop-lanczos-256', side: 256, description: 'square centre crop of the short side, Pillow LANCZOS to 256x256 (SwiftBrush v2 tools/resize.py, GigaGAN/DMD2)' },
  'center-crop-lanczos-512': { name: 'center-crop-lanczos-512', side: 512, description: 'square centre crop of the short side, Pillow LANCZOS to 512x512' },
} as const satisfies Record<string, { name: string; side: number; description: string }>;

export type ResizeProtocolName = keyof typeof RESIZE_PROTOCOLS;
export const RESIZE_PROTOCOL_NAMES = Object.keys(RESIZE_PROTOCOLS) as ResizeProtocolName[];

export const isResizeProtocol = (name: string): name is ResizeProtocolName => name in RESIZE_PROTOCOLS;

/** the reference image of one decoded COCO image under a resize protocol */
export const applyResizeProtocol = (img: RgbImage, protocol: ResizeProtocolName): RgbImage => squareCropResize(img, RESIZE_PROTOCOLS[protocol].side, 'lanczos');

/** a reference image as PNG (libvips' encoder: the same bytes for the same pixels and sharp version) */
export const encodePng = (img: RgbImage): Promise<Buffer> =>
  sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
