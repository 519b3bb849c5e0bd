import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSchedulerConfig } from '../../src/diffusion/scheduler-config-gate.js';
import { BadInputError } from '../../src/errors.js';

const SD = { _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, trained_betas: null, num_train_timesteps: 1000 };
const refused = (message: string) => (e: unknown): boolean => e instanceof BadInputError && e.code === 'SD_CONFIG_UNSUPPORTED' && e.message === message;

test('scheduler_config.json: zero-SNR rescaling, thresholding, other beta schedules and trained betas are refused by name', () => {
  checkSchedulerConfig('s', SD);
  checkSchedulerConfig('s', { ...SD, rescale_betas_zero_snr: false, thresholding: false });
  assert.throws(() => checkSchedulerConfig('s', { ...SD, rescale_betas_zero_snr: true }), refused('s  rescale_betas_zero_snr  true is not implemented (implemented: false)'));
  assert.throws(() => checkSchedulerConfig('s', { ...SD, thresholding: true }), refused('s  thresholding  true is not implemented (implemented: false)'));
  assert.throws(() => checkSchedulerConfig('s', { ...SD, beta_schedule: 'squaredcos_cap_v2' }), refused('s  beta_schedule  "squaredcos_cap_v2" is not implemented (implemented: "scaled_linear")'));
  assert.throws(() => checkSchedulerConfig('s', { ...SD, trained_betas: [0.1, 0.2] }), refused('s  trained_betas  [0.1,0.2] is not implemented (implemented: null)'));
  const { beta_schedule: _, ...absent } = SD;
  assert.throws(() => checkSchedulerConfig('s', absent), refused('s  beta_schedule  "linear" (absent: diffusers\' default) is not implemented (implemented: "scaled_linear")'));
});
