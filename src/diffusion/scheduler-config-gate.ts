/**
 * The scheduler_config.json keys the engine's schedules do not implement, each allowed only at values the engine
 * computes: a config that asks for more is refused with one line naming the file and key, before anything samples.
 * An absent key means diffusers' default. (The full scheduler config schema is its own module.)
 */
import { BadInputError } from '../errors.js';

// key → diffusers' default and the values implemented
const GATES: Record<string, { fallback: unknown; implemented: readonly unknown[] }> = {
  beta_schedule: { fallback: 'linear', implemented: ['scaled_linear'] }, // what schedule.ts computes
  trained_betas: { fallback: null, implemented: [null] },
  rescale_betas_zero_snr: { fallback: false, implemented: [false] },
  thresholding: { fallback: false, implemented: [false] },
};

export function checkSchedulerConfig(path: string, config: Record<string, unknown>): void {
  for (const [key, { fallback, implemented }] of Object.entries(GATES)) {
    const value = config[key] === undefined ? fallback : config[key];
    if (implemented.some((a) => JSON.stringify(a) === JSON.stringify(value))) continue;
    const shown = `${JSON.stringify(value)}${config[key] === undefined ? " (absent: diffusers' default)" : ''}`;
    throw new BadInputError(
      'SD_CONFIG_UNSUPPORTED',
      `${path}  ${key}  ${shown} is not implemented (implemented: ${implemented.map((a) => JSON.stringify(a)).join(', ')})`,
      'the engine samples with the Stable Diffusion 1.x/2.x training schedule; this scheduler config asks for more',
    );
  }
}
