import * as tf from '@tensorflow/tfjs';
import { captionVocabulary, tokenizeBatch } from '../data/tokenizer.js';
import { Xoshiro128ss } from '../data/random.js';
import type { SyntheticImage } from '../data/synthetic-set.js';
import { WeightInitializer, WeightReader, type ParamMap } from '../nn/params.js';
import { clipImageForward, clipTextForward, type ClipSpec } from './networks.js';
import { imagesTensor, shuffledBatches, withPixelNoise } from './training-data.js';
import { EMBEDDED_TRUNK } from './trunk.js';
import type { TrainingLog } from './train-perception.js';

export interface ClipTraining {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** largest per-image pixel-noise std of the augmentation (0: none) */
  noiseStdMax?: number;
}

export const embeddedClipSpec = (size: number): ClipSpec => ({
  kind: 'clip',
  size,
  trunk: EMBEDDED_TRUNK,
  text: { vocab: captionVocabulary().tokens.length, length: 24, width: 64, layers: 2, heads: 4, mlp: 128 },
  embed: 64,
});

/** CLIP's symmetric InfoNCE over image–caption pairs, one random caption of each image per step. */
export function trainClip(train: readonly SyntheticImage[], spec: ClipSpec, o: ClipTraining, log: TrainingLog = () => {}): ParamMap {
  const x = imagesTensor(train);
  const init = new WeightInitializer(o.seed, true);
  tf.tidy(() => {
    clipImageForward({ weights: init }, spec, x.slice(0, 1));
    clipTextForward({ weights: init }, spec, tf.zeros([1, spec.text.length], 'int32'));
  });
  const params = init.params;
  const logitScale = tf.variable(tf.scalar(Math.log(1 / 0.07)), true);
  const ctx = { weights: new WeightReader(params) };
  const optimizer = tf.train.adam(o.learningRate);
  const rng = Xoshiro128ss.fromSeed(o.seed + 1);
  const total = Math.floor(train.length / o.batchSize) * o.epochs;
  let step = 0;
  for (const { epoch, indices } of shuffledBatches(train.length, o.batchSize, o.epochs, o.seed)) {
    const captions = Array.from(indices, (i) => {
      const options = (train[i] as SyntheticImage).captions;
      return (options[rng.nextUint32() % options.length] as { caption: string }).caption;
    });
    const ids = tf.tensor2d(tokenizeBatch(captions, spec.text.length), [indices.length, spec.text.length], 'int32');
    const loss = optimizer.minimize(() => {
      const img = clipImageForward(ctx, spec, withPixelNoise(tf.gather(x, tf.tensor1d(indices, 'int32')) as tf.Tensor4D, o.noiseStdMax ?? 0, o.seed * 1_000_003 + step * 2));
      const txt = clipTextForward(ctx, spec, ids).embeds;
      const logits = tf.mul(tf.matMul(img, txt, false, true), tf.exp(tf.minimum(logitScale, Math.log(100))));
      const labels = tf.oneHot(tf.range(0, indices.length, 1, 'int32'), indices.length);
      return tf.div(tf.add(tf.losses.softmaxCrossEntropy(labels, logits), tf.losses.softmaxCrossEntropy(labels, logits.transpose())), 2) as tf.Scalar;
    }, true, [...Object.values(params), logitScale]);
    ids.dispose();
    step++;
    log({ step, total, loss: loss?.dataSync()[0] ?? Number.NaN, epoch });
    loss?.dispose();
  }
  optimizer.dispose();
  logitScale.dispose();
  x.dispose();
  return params;
}

export interface ClipAccuracy {
  /** image → its own caption ranks first among the batch's captions */
  retrieval_top1: number;
  /** mean cosine of matching pairs, and of mismatched pairs */
  mean_cosine_matched: number;
  mean_cosine_mismatched: number;
}

/** Retrieval over the first caption of each image, in groups of `group`. */
export function evaluateClip(params: ParamMap, spec: ClipSpec, images: readonly SyntheticImage[], group = 100): ClipAccuracy {
  const ctx = { weights: new WeightReader(params) };
  let hits = 0;
  let matched = 0;
  let mismatched = 0;
  let count = 0;
  for (let start = 0; start + group <= images.length; start += group) {
    const chunk = images.slice(start, start + group);
    const sims = tf.tidy(() => {
      const img = clipImageForward(ctx, spec, imagesTensor(chunk));
      const ids = tf.tensor2d(tokenizeBatch(chunk.map((c) => c.captions[0]?.caption ?? ''), spec.text.length), [chunk.length, spec.text.length], 'int32');
      return tf.matMul(img, clipTextForward(ctx, spec, ids).embeds, false, true).arraySync() as number[][];
    });
    sims.forEach((row, i) => {
      const best = row.indexOf(Math.max(...row));
      if (best === i) hits++;
      matched += row[i] as number;
      mismatched += (row.reduce((a, b) => a + b, 0) - (row[i] as number)) / (row.length - 1);
    });
    count += chunk.length;
  }
  return { retrieval_top1: hits / count, mean_cosine_matched: matched / count, mean_cosine_mismatched: mismatched / count };
}
