import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import type { SyntheticImage } from '../data/synthetic-set.js';
import { WeightInitializer, WeightReader, type ParamMap } from '../nn/params.js';
import { ATTRIBUTE_GROUPS, ATTRIBUTE_LOGITS, attributeGroupOffsets, attributeTargets, checkFaithfulness, decodeAttributes } from './attribute-heads.js';
import { perceptionForward, type PerceptionSpec } from './networks.js';
import { imagesTensor, shuffledBatches, withPixelNoise } from './training-data.js';
import { EMBEDDED_TRUNK } from './trunk.js';

export interface PerceptionTraining {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** largest per-image pixel-noise std of the augmentation (0: none) */
  noiseStdMax?: number;
}

export interface TrainingLog {
  (entry: { step: number; total: number; loss: number; epoch: number }): void;
}

export const embeddedPerceptionSpec = (size: number): PerceptionSpec => ({ kind: 'perception', size, trunk: EMBEDDED_TRUNK, logits: ATTRIBUTE_LOGITS });

/** Trains the attribute classifier whose pooled features are the embedded FID space. */
export function trainPerception(train: readonly SyntheticImage[], spec: PerceptionSpec, o: PerceptionTraining, log: TrainingLog = () => {}): ParamMap {
  const x = imagesTensor(train);
  const targets = tf.tensor2d(train.flatMap((img) => attributeTargets(img.attributes)), [train.length, ATTRIBUTE_GROUPS.length], 'int32');
  const init = new WeightInitializer(o.seed, true);
  tf.tidy(() => void perceptionForward({ weights: init }, spec, x.slice(0, 1)));
  const params = init.params;
  const ctx = { weights: new WeightReader(params) };
  const optimizer = tf.train.adam(o.learningRate);
  const offsets = attributeGroupOffsets();
  const total = Math.floor(train.length / o.batchSize) * o.epochs;
  let step = 0;
  for (const { epoch, indices } of shuffledBatches(train.length, o.batchSize, o.epochs, o.seed)) {
    const loss = optimizer.minimize(() => {
      const idx = tf.tensor1d(indices, 'int32');
      const { logits } = perceptionForward(ctx, spec, withPixelNoise(tf.gather(x, idx) as tf.Tensor4D, o.noiseStdMax ?? 0, o.seed * 1_000_003 + step * 2));
      const t = tf.gather(targets, idx);
      const terms = ATTRIBUTE_GROUPS.map((g, i) =>
        tf.losses.softmaxCrossEntropy(tf.oneHot(t.slice([0, i], [-1, 1]).flatten(), g.classes.length), logits.slice([0, offsets[i] ?? 0], [-1, g.classes.length])),
      );
      return tf.addN(terms) as tf.Scalar;
    }, true, Object.values(params));
    step++;
    log({ step, total, loss: loss?.dataSync()[0] ?? Number.NaN, epoch });
    loss?.dispose();
  }
  optimizer.dispose();
  tf.dispose([x, targets]);
  return params;
}

export interface PerceptionAccuracy {
  /** fraction of groups predicted right */
  group_accuracy: number;
  /** fraction of images whose stated attributes (background + objects) are all predicted right */
  scene_accuracy: number;
}

/** accuracies on `images`, optionally with pixel noise of exactly `noiseStd` added (how robust the classifier is to imperfect samples) */
export function evaluatePerception(params: ParamMap, spec: PerceptionSpec, images: readonly SyntheticImage[], noiseStd = 0): PerceptionAccuracy {
  const logits = tf.tidy(() => {
    const x = imagesTensor(images);
    const input = noiseStd > 0 ? (tf.add(x, randomNormal(x.shape, 0, noiseStd, 'float32', 12345)) as tf.Tensor4D) : x;
    return perceptionForward({ weights: new WeightReader(params) }, spec, input).logits.dataSync();
  });
  let groups = 0;
  let scenes = 0;
  images.forEach((img, i) => {
    const predicted = decodeAttributes(logits, i);
    const target = attributeTargets(img.attributes);
    groups += predicted.filter((p, g) => p === target[g]).length;
    if (checkFaithfulness(predicted, img.attributes).faithful) scenes++;
  });
  return { group_accuracy: groups / (images.length * ATTRIBUTE_GROUPS.length), scene_accuracy: scenes / images.length };
}
