// `vsdlab sample`'s work: prompts in batches through a loaded SD pipeline, each image written as it is done (PNG as
// diffusers' numpy_to_pil rounds it), or all as one images.npy [N, H, W, 3] in [0, 1] (diffusers' output_type "np").
// Any engine: tfjs or ONNX Runtime.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { BadInputError } from '../../errors.js';
import { decodeNpy, encodeNpy } from '../../metrics/stats/npy-format.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import type { SdEngine } from './engine.js';
import { decodeLatents, defaultSampler, sampleLatents, type SdSampleOptions } from './sample.js';
import type { SdSampler } from './sampler-names.js';
import { sampleNoise } from '../../diffusion/sample-noise.js';

export interface SampleToFolderOptions extends Omit<SdSampleOptions, 'sampler' | 'onStep'> {
  sampler?: SdSampler;
  prompts: readonly string[];
  out: string;
  outputType: 'png' | 'npy';
  batchSize: number;
  height?: number;
  width?: number;
  /** diffusers-layout latents [N, 4, h, w] (.npy) to start from instead of seeded noise */
  latentsFile?: string;
  signal?: AbortSignal;
  /** after each batch: images done, of how many */
  onProgress?: (done: number, total: number) => void;
  /**
   * png output: what makes this run's images (model, prompts, seed, sampler settings), e.g. a hash. When `out` holds
   * the images of a run with the same identity, batches whose images are all there are not generated again; a
   * batch with one missing runs whole (ddpm's step noise is drawn per batch) and writes only the missing images.
   * Another identity, or none, writes every image.
   */
  resume?: string;
}

const RUN_FILE = '.vsdlab-sample.json';
const imageName = (index: number): string => `${String(index).padStart(6, '0')}.png`;

/** the finished images of an earlier run with the same identity (each renamed into place whole), or none */
async function finishedImages(out: string, identity: string | undefined): Promise<Set<string>> {
  const marker = join(out, RUN_FILE);
  const previous = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { identity?: string }).identity : undefined;
  if (identity === undefined) {
    // images of unknown origin follow: a later run must not take them for the marked run's
    rmSync(marker, { force: true });
    return new Set();
  }
  if (previous !== identity) {
    await writeFileAtomically(marker, `${JSON.stringify({ identity })}\n`);
    return new Set();
  }
  return new Set(readdirSync(out).filter((f) => /^\d{6}\.png$/.test(f)));
}

/** the sampler, size and files written (relative to `out`) */
export interface SampleToFolderResult {
  sampler: SdSampler;
  height: number;
  width: number;
  files: string[];
}

function readLatents(path: string, count: number): tf.Tensor4D {
  const npy = decodeNpy(readFileSync(path), path);
  if (npy.shape.length !== 4 || npy.shape[1] !== 4 || npy.shape[0] !== count) {
    throw new BadInputError('LATENTS_SHAPE', `${path}: shape [${npy.shape.join(', ')}], expected [${count}, 4, h, w] (one latent per prompt)`);
  }
  return tf.tidy(() => tf.tensor4d(Float32Array.from(npy.data), npy.shape as [number, number, number, number]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
}

export async function sampleToFolder(p: SdEngine, o: SampleToFolderOptions): Promise<SampleToFolderResult> {
  const sampler = o.sampler ?? defaultSampler(p);
  const given = o.latentsFile === undefined ? undefined : readLatents(o.latentsFile, o.prompts.length);
  const latentSize = p.sampleSize;
  const height = given ? (given.shape[1] as number) * p.vaeScale : (o.height ?? latentSize * p.vaeScale);
  const width = given ? (given.shape[2] as number) * p.vaeScale : (o.width ?? height);
  if (height % p.vaeScale !== 0 || width % p.vaeScale !== 0) throw new BadInputError('USAGE', `--height and --width must be multiples of ${p.vaeScale} (the VAE's factor), got ${height}×${width}`);
  mkdirSync(o.out, { recursive: true });
  const done = o.outputType === 'png' ? await finishedImages(o.out, o.resume) : new Set<string>();
  const files: string[] = [];
  const npy: Float32Array[] = [];
  try {
    for (let first = 0; first < o.prompts.length; first += o.batchSize) {
      if (o.signal?.aborted) throw o.signal.reason;
      const batch = o.prompts.slice(first, first + o.batchSize);
      const names = batch.map((_, i) => imageName(first + i));
      if (o.outputType === 'png' && names.every((n) => done.has(n))) {
        files.push(...names);
        o.onProgress?.(Math.min(first + o.batchSize, o.prompts.length), o.prompts.length);
        continue;
      }
      const noise = given
        ? (given.slice([first, 0, 0, 0], [batch.length, -1, -1, -1]) as tf.Tensor4D)
        : sampleNoise(o.seed, first, batch.length, [height / p.vaeScale, width / p.vaeScale, p.latentChannels]);
      const latents = await sampleLatents(p, batch, noise, { ...o, sampler });
      const images = await decodeLatents(p, latents);
      const pixels = (await images.data()) as Float32Array;
      tf.dispose([noise, latents, images]);
      const each = height * width * 3;
      for (let i = 0; i < batch.length; i++) {
        const image = pixels.subarray(i * each, (i + 1) * each);
        if (o.outputType === 'npy') {
          npy.push(Float32Array.from(image));
          continue;
        }
        // diffusers' numpy_to_pil: (x * 255).round() as uint8
        const name = names[i]!;
        files.push(name);
        if (done.has(name)) continue;
        await writeFileAtomically(join(o.out, name), await sharp(Uint8Array.from(image, (v) => Math.round(v * 255)), { raw: { width, height, channels: 3 } }).png().toBuffer());
      }
      o.onProgress?.(Math.min(first + o.batchSize, o.prompts.length), o.prompts.length);
    }
  } finally {
    given?.dispose();
  }
  if (o.outputType === 'npy') {
    const all = new Float32Array(npy.length * height * width * 3);
    npy.forEach((a, i) => all.set(a, i * a.length));
    await writeFileAtomically(join(o.out, 'images.npy'), encodeNpy(all, [npy.length, height, width, 3]));
    files.push('images.npy');
  }
  return { sampler, height, width, files };
}
