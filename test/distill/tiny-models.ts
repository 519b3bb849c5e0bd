import * as tf from '@tensorflow/tfjs';
import { scaledLinearSchedule } from '../../src/diffusion/schedule.js';
import { initUNet, type UNetConfig } from '../../src/diffusion/unet/index.js';
import type { DistillModels, DistillSettings } from '../../src/distill/trainer.js';
import { embeddedDistillNet } from '../../src/distill/net.js';
import { TINY_UNET } from '../helpers/tiny-unet.js';

export const tinyUNet: UNetConfig = { ...TINY_UNET, condDim: 8 };

/** A tiny teacher with a fixed "text encoder": each caption's embedding is a function of its length. */
export function tinyModels(options: { nanText?: boolean } = {}): DistillModels {
  const encode = (captions: readonly string[]): tf.Tensor3D =>
    tf.tidy(() => {
      const rows = captions.map((c) => Array.from({ length: 3 * 8 }, (_, i) => (options.nanText ? Number.NaN : Math.sin(c.length * 0.7 + i))));
      return tf.tensor3d(rows.flat(), [captions.length, 3, 8]);
    });
  return {
    schedule: scaledLinearSchedule(),
    net: embeddedDistillNet(tinyUNet),
    teacher: initUNet(tinyUNet, 1).params,
    initRandom: (seed) => initUNet(tinyUNet, 100 + seed).params,
    encodeText: encode,
    nullText: encode(['']),
    imageShape: [8, 8, 3],
  };
}

export const tinySettings = (over: Partial<DistillSettings> = {}): DistillSettings => ({
  seed: 3,
  steps: 4,
  batchSize: 2,
  guidanceScale: 4.5,
  tMin: 20,
  tMax: 980,
  gradClip: 1,
  gradientWeighting: 'sigma-squared',
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  studentParameterization: 'eps',
  studentInit: 'teacher',
  studentLr: 1e-3,
  studentLrSchedule: 'constant',
  emaDecay: 0.999,
  inputTimestep: 999,
  lora: { enabled: true, rank: 2, alpha: 2, targets: ['to_q', 'to_v'], lr: 1e-2, updatesPerStep: 1, lossWeighting: 'alpha-bar', guidanceScale: 4.5, nullPromptProb: 0.1, tMin: 0, tMax: 999 },
  checkpointEvery: 2,
  logEvery: 1,
  ...over,
});

export const prompts = (step: number, batch: number): string[] => Array.from({ length: batch }, (_, i) => `a caption ${'x'.repeat((step * 7 + i) % 11)}`);
