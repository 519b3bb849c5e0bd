// no tfjs here: the experiment schema reads this list, and the CLI loads tfjs only where cells run
/**
 * How the student's score gradient is weighted, the two choices of the one-step distillation codes:
 * `sigma-squared` is SwiftBrush's (and ProlificDreamer's) w(t) = σ_t² = 1 − ᾱ_t on the ε difference;
 * `dmd` is DMD/DMD2's, the difference of the two x̂0 predictions divided per sample by the mean |x̂0 − x̂0_teacher|,
 * which gives every timestep in the batch a gradient of about the same size.
 */
export const SCORE_GRADIENT_WEIGHTINGS = ['sigma-squared', 'dmd'] as const;
export type ScoreGradientWeighting = (typeof SCORE_GRADIENT_WEIGHTINGS)[number];
