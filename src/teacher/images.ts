import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { writeFileAtomically } from '../util/atomic-write.js';

/** Model space [-1, 1] NHWC → uint8 HWC images, rounded and clipped as diffusers' image processor does. */
export function toUint8Images(x: tf.Tensor4D): Uint8Array[] {
  const [n, h, w, c] = x.shape;
  const pixels = tf.tidy(() => tf.clipByValue(tf.round(tf.mul(tf.add(tf.clipByValue(x, -1, 1), 1), 127.5)), 0, 255));
  // read outside tidy: tidy walks whatever its callback returns for tensors, element by element for a typed array
  const data = pixels.dataSync();
  pixels.dispose();
  return Array.from({ length: n }, (_, i) => Uint8Array.from(data.subarray(i * h * w * c, (i + 1) * h * w * c)));
}

export async function writePng(path: string, pixels: Uint8Array, width: number, height: number): Promise<void> {
  await writeFileAtomically(path, await sharp(Buffer.from(pixels), { raw: { width, height, channels: 3 } }).png().toBuffer());
}

/** A plain grid of equally sized images, `columns` wide, scaled up `scale`× (nearest) to be seen. */
export async function writeGrid(path: string, images: readonly Uint8Array[], width: number, height: number, columns: number, scale = 4): Promise<void> {
  const rows = Math.ceil(images.length / columns);
  const tiles = await Promise.all(
    images.map((px) => sharp(Buffer.from(px), { raw: { width, height, channels: 3 } }).resize(width * scale, height * scale, { kernel: 'nearest' }).png().toBuffer()),
  );
  const grid = sharp({ create: { width: columns * width * scale, height: rows * height * scale, channels: 3, background: '#808080' } }).composite(
    tiles.map((input, i) => ({ input, left: (i % columns) * width * scale, top: Math.floor(i / columns) * height * scale })),
  );
  await writeFileAtomically(path, await grid.png().toBuffer());
}
