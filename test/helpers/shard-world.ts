import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { captionVocabulary } from '../../src/data/tokenizer.js';
import { ATTRIBUTE_LOGITS } from '../../src/features/attribute-heads.js';
import { clipImageForward, clipImageToOnnx, clipTextForward, clipTextToOnnx, perceptionForward, perceptionToOnnx, type ClipSpec, type PerceptionSpec } from '../../src/features/networks.js';
import { captionTokenizerJson } from '../../src/features/tokenizer-json.js';
import { WeightInitializer } from '../../src/nn/params.js';

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
  const trunk = { channels: [4, 8], strides: [2, 2], features: 16 };
  const perception: PerceptionSpec = { kind: 'perception', size: 32, trunk, logits: ATTRIBUTE_LOGITS };
  const clip: ClipSpec = { kind: 'clip', size: 32, trunk, text: { vocab: captionVocabulary().tokens.length, length: 24, width: 16, layers: 1, heads: 2, mlp: 16 }, embed: 8 };
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  const p = new WeightInitializer(1, false);
  perceptionForward({ weights: p }, perception, x);
  writeFileSync(join(dir, 'perception.onnx'), perceptionToOnnx(p.params, perception));
  const c = new WeightInitializer(2, false);
  clipImageForward({ weights: c }, clip, x);
  clipTextForward({ weights: c }, clip, tf.zeros([1, 24], 'int32'));
  mkdirSync(join(dir, 'clip'), { recursive: true });
  writeFileSync(join(dir, 'clip', 'image.onnx'), clipImageToOnnx(c.params, clip));
  writeFileSync(join(dir, 'clip', 'text.onnx'), clipTextToOnnx(c.params, clip));
  writeFileSync(join(dir, 'clip', 'tokenizer.json'), JSON.stringify(captionTokenizerJson(24)));
  tf.dispose(x);
  await writeImages(join(dir, 'gen'), o.images, o.size, 11);
  await writeImages(join(dir, 'ref'), o.reference, o.size, 12);
  const colours = ['red', 'green', 'blue', 'yellow'];
  const shapes = ['circle', 'square', 'triangle'];
  writeFileSync(join(dir, 'captions.txt'), `${Array.from({ length: o.images }, (_, i) => `a ${colours[i % 4]} ${shapes[i % 3]}`).join('\n')}\n`);
}
