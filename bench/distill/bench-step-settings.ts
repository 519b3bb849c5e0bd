// The VSD step the distillation benches time (bench/distill/vsd-step.ts, bench/tensor/kernel-census.ts): the
// embedded ablation's distill settings at the bench's batch, with the bench's LoRA (rank 8 on to_q/to_v, CFG 4.5),
// checkpoints only at the end. studyStepSettings is the embedded ablation's own step (vsd-step --study, the
// teacher-engine bench): batch 8, LoRA rank 16 on q, k, v, out and the ResBlock convs, LoRA lr 1e-2, LoRA guidance 1.
import { loraLayersOf } from '../../src/diffusion/lora-targets.js';
import type { DistillSettings } from '../../src/distill/trainer.js';

export const benchStepSettings = (steps: number, batchSize: number): DistillSettings => ({
  seed: 0,
  steps,
  batchSize,
  guidanceScale: 4.5,
  tMin: 20,
  tMax: 980,
  gradClip: 1,
  gradientWeighting: 'sigma-squared',
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  studentParameterization: 'eps',
  studentInit: 'teacher',
  studentLr: 1e-4,
  studentLrSchedule: 'constant',
  emaDecay: 0.99,
  inputTimestep: 999,
  lora: { enabled: true, rank: 8, alpha: 8, targets: ['to_q', 'to_v'], lr: 1e-3, updatesPerStep: 1, lossWeighting: 'alpha-bar', guidanceScale: 4.5, nullPromptProb: 0.1, tMin: 0, tMax: 999 },
  checkpointEvery: 1_000_000,
  logEvery: 1_000_000,
});

/** the embedded ablation's LoRA teacher (experiments/embedded-ablation.yaml); `enabled: false` is its SDS cells */
export const STUDY_LORA = { rank: 16, alpha: 16, targets: loraLayersOf(['q', 'k', 'v', 'out', 'conv']) };

export const studyStepSettings = (steps: number, lora = true): DistillSettings => ({
  ...benchStepSettings(steps, 8),
  lora: { enabled: lora, ...STUDY_LORA, lr: 1e-2, updatesPerStep: 1, lossWeighting: 'alpha-bar', guidanceScale: 1, nullPromptProb: 0.1, tMin: 0, tMax: 999 },
});
