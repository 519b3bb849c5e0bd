import { BadInputError } from '../errors.js';

/** how inference timesteps are spread over [0, T): diffusers' `timestep_spacing` */
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface SpacingOptions {
  spacing: TimestepSpacing;
  /** added to 'leading' timesteps (SD's scheduler_config has steps_offset = 1) */
  stepsOffset: number;
}

/** SD 2.1-base scheduler_config: timestep_spacing leading (the diffusers default), steps_offset 1, set_alpha_to_one false */
export const SD_DDIM_SPACING: SpacingOptions = { spacing: 'leading', stepsOffset: 1 };
/** diffusers' DPMSolverMultistepScheduler default spacing */
export const SD_DPM_SPACING: SpacingOptions = { spacing: 'linspace', stepsOffset: 0 };

// numpy's round(): half to even
const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** descending integer timesteps, as diffusers' DDIM/DDPM `set_timesteps` computes them */
export const inferenceTimesteps = (numTrainTimesteps: number, numSteps: number, options: SpacingOptions): number[] => {
  if (!Number.isInteger(numSteps) || numSteps < 1 || numSteps > numTrainTimesteps) {
    throw new BadInputError('SAMPLER_STEPS', `number of sampling steps must be an integer in [1, ${numTrainTimesteps}], got ${numSteps}`);
  }
  let steps: number[];
  if (options.spacing === 'leading') {
    const ratio = Math.floor(numTrainTimesteps / numSteps);
    steps = Array.from({ length: numSteps }, (_, i) => (numSteps - 1 - i) * ratio + options.stepsOffset);
  } else if (options.spacing === 'trailing') {
    const ratio = numTrainTimesteps / numSteps;
    steps = Array.from({ length: numSteps }, (_, i) => roundHalfEven(numTrainTimesteps - i * ratio) - 1);
  } else {
    const last = numTrainTimesteps - 1;
    steps = Array.from({ length: numSteps }, (_, i) => roundHalfEven(numSteps === 1 ? 0 : (last * (numSteps - 1 - i)) / (numSteps - 1)));
  }
  const bad = steps.find((t) => t < 0 || t >= numTrainTimesteps);
  if (bad !== undefined) {
    throw new BadInputError(
      'SAMPLER_TIMESTEPS',
      `${numSteps} steps with '${options.spacing}' spacing and offset ${options.stepsOffset} reach timestep ${bad}, outside [0, ${numTrainTimesteps - 1}]`,
      'use fewer steps, steps offset 0, or trailing spacing',
    );
  }
  return steps;
};

/**
 * DPMSolverMultistepScheduler's grids, which differ from DDIM's: 'linspace' (its default) is
 * linspace(0, T−1, N+1) rounded, descending, the final 0 dropped; 'leading' steps by T // (N+1) and
 * drops the final 0 before adding the offset; 'trailing' is the same as DDIM's.
 */
export const dpmSolverTimesteps = (numTrainTimesteps: number, numSteps: number, options: SpacingOptions): number[] => {
  if (options.spacing === 'trailing') return inferenceTimesteps(numTrainTimesteps, numSteps, options);
  if (!Number.isInteger(numSteps) || numSteps < 1 || numSteps >= numTrainTimesteps) {
    throw new BadInputError('SAMPLER_STEPS', `number of DPM-Solver steps must be an integer in [1, ${numTrainTimesteps - 1}], got ${numSteps}`);
  }
  if (options.spacing === 'leading') {
    const ratio = Math.floor(numTrainTimesteps / (numSteps + 1));
    return Array.from({ length: numSteps }, (_, i) => (numSteps - i) * ratio + options.stepsOffset);
  }
  const last = numTrainTimesteps - 1;
  return Array.from({ length: numSteps }, (_, i) => roundHalfEven((last * (numSteps - i)) / numSteps));
};
