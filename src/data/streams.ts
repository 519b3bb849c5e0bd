/**
 * The named random streams: every purpose label passed to `deriveRunSeed` / `deriveSeed`, and every fixed tfjs
 * seed, in one table. The numbers ARE the streams: changing one changes every result (the run-seed and dataset
 * tests pin them), so a new purpose takes a new number and an old one never moves.
 */
import { deriveRunSeed, Xoshiro128ss, type Seed } from './random.js';

/** Purposes of a cell's run seed: `deriveRunSeed(cell seed, step or sample index, RUN_STREAM.x)`. */
export const RUN_STREAM = {
  /** distillation step: the student's input noise z */
  studentNoise: 1,
  /** distillation step: the timesteps at which the teachers score the student's x̂0 */
  scoreTimesteps: 2,
  /** distillation step: the noise that takes x̂0 to x_t (and SDS's stand-in for the LoRA teacher) */
  scoreNoise: 3,
  /** the first LoRA-teacher update of a step: its timesteps (later updates: `loraUpdateStream`) */
  loraTimesteps: 4,
  /** the first LoRA-teacher update of a step: its noise */
  loraNoise: 5,
  /** the first LoRA-teacher update of a step: the coin that drops the prompt */
  loraNullPrompt: 6,
  /** generation: the starting noise of sample i (labelled by the sample index, not a step) */
  sampleNoise: 7,
  /** distillation step: which prompts form its batch */
  prompts: 99,
} as const;

export type LoraDraw = 'loraTimesteps' | 'loraNoise' | 'loraNullPrompt';

/** LoRA update u > 0 of a step draws from 10 + 3u + k (k = 0, 1, 2 in LoraDraw order): u = 0 stays SwiftBrush's single update. */
const LATER_LORA_UPDATES = 10;

/** the stream of one draw of LoRA-teacher update `update` (0-based) within a step */
export const loraUpdateStream = (update: number, draw: LoraDraw): number =>
  update === 0 ? RUN_STREAM[draw] : LATER_LORA_UPDATES + 3 * update + (RUN_STREAM[draw] - RUN_STREAM.loraTimesteps);

/**
 * Purposes of the teacher recipe's seed: `deriveSeed(recipe seed, step, TEACHER_STREAM.x)`. The step's batch
 * (images, dropped captions, timesteps) is `deriveSeed(recipe seed, step)` with no purpose label.
 */
export const TEACHER_STREAM = {
  /** the noise added to the batch */
  noise: 1,
} as const;

/** Fixed tfjs seeds of the looks at a model (not results): the same noise at every checkpoint. */
export const PREVIEW_SEED = {
  /** the distill stage's EMA-student grid at each checkpoint */
  distill: 12345,
  /** the teacher recipe's sample grids */
  teacher: 7,
} as const;

/** a derived 64-bit seed as the 31-bit seed tfjs' random ops take */
export const tfjsSeed = (derived: bigint): number => tfjsRandomSeed(Number(derived & 0x7fffffffn));

/** tfjs's random ops read a seed of 0 as "no seed" and draw from Math.random: 0 becomes −1, every other seed is kept */
export const tfjsRandomSeed = (seed: number): number => (seed === 0 ? -1 : seed);

/** the generator of a run-seed stream */
export const runStream = (seed: Seed, index: number, purpose: number): Xoshiro128ss => Xoshiro128ss.fromSeed(deriveRunSeed(seed, index, purpose));

/** the tfjs seed of a run-seed stream */
export const runTfjsSeed = (seed: Seed, index: number, purpose: number): number => tfjsSeed(deriveRunSeed(seed, index, purpose));
