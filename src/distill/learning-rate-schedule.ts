// no tfjs here: the experiment and recipe schemas read this list
export const LEARNING_RATE_SCHEDULES = ['constant', 'cosine'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];

/** the rate of a (1-based) step of `steps`: constant, or a cosine from `rate` down towards 0 at the last step */
export function scheduledRate(rate: number, schedule: LearningRateSchedule, steps: number, step: number): number {
  if (schedule === 'constant') return rate;
  return rate * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / steps));
}
