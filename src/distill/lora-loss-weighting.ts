// no tfjs here: the experiment schema reads this list, and the CLI loads tfjs only where cells run
/**
 * How the LoRA teacher's ε-MSE is weighted over t, the three choices of the VSD codes: SwiftBrush weights it by
 * ᾱ_t (mse(√ᾱ_t·ε̂, √ᾱ_t·ε)), DMD2's fake score takes it plain, ProlificDreamer's v-prediction LoRA takes the
 * v-MSE, which for a fixed x_t is the ε-MSE over ᾱ_t (ε = σ_t·x_t + α_t·v, so δv = δε / α_t).
 */
export const LORA_LOSS_WEIGHTINGS = ['alpha-bar', 'eps', 'v'] as const;
export type LoraLossWeighting = (typeof LORA_LOSS_WEIGHTINGS)[number];
