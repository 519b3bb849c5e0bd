import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeUntrainedExtractors } from '../e2e/tiny-world.js';

/** random-pixel PNGs (smooth blobs on noise, so features vary), named 000000.png ... */
async function writeImages(dir: string, count: number, size: number, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  let s = seed;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = 0; i < count; i++) {
    const px = new Uint8Array(size * size * 3);
    const [cx, cy, r] = [rand() * size, rand() * size, (0.1 + rand() * 0.3) * size];
    const colour = [rand() * 255, rand() * 255, rand() * 255];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        for (let c = 0; c < 3; c++) px[(y * size + x) * 3 + c] = inside ? colour[c]! : rand() * 255;
      }
    }
    writeFileSync(join(dir, `${String(i).padStart(6, '0')}.png`), await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
  }
}

/**
 * What a sharded evaluation reads, untrained and small: an attribute network as the feature extractor
 * (pool output), a CLIP model folder, `gen/` images with `captions.txt`, and `ref/` images.
 */
export async function writeShardWorld(dir: string, o: { images: number; reference: number; size: number }): Promise<void> {
  await tf.setBackend('cpu');
  writeUntrainedExtractors({ perception: join(dir, 'perception.onnx'), clipImage: join(dir, 'clip', 'image.onnx'), clipText: join(dir, 'clip', 'text.onnx'), tokenizer: join(dir, 'clip', 'tokenizer.json') });
  await writeImages(join(dir, 'gen'), o.images, o.size, 11);
  await writeImages(join(dir, 'ref'), o.reference, o.size, 12);
  const colours = ['red', 'green', 'blue', 'yellow'];
  const shapes = ['circle', 'square', 'triangle'];
  writeFileSync(join(dir, 'captions.txt'), `${Array.from({ length: o.images }, (_, i) => `a ${colours[i % 4]} ${shapes[i % 3]}`).join('\n')}\n`);
}
