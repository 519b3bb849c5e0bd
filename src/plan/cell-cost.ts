// What a cell costs to compute, estimated from its config alone, so every worker of a pool orders the plan the
// same way: `vsdlab run -j N` walks the cells longest first (largest-processing-time-first), and a long cell is
// never the one started last while the other cores have run out of work. Units: UNet passes over one image.
import type { CellConfig } from '../config/schema.js';
import type { Cell } from './plan.js';

/** the stages a cell's cost is made of (tracking/'s StageName; plan/ sits below tracking/) */
export type CostedStage = 'distill' | 'generate' | 'evaluate';

/** passes of a model call with classifier-free guidance: the conditional and unconditional halves (none at scale 1) */
const guidedPasses = (scale: number): number => (scale === 1 ? 1 : 2);

/**
 * A forward-only pass (sampling, no gradient tape, batches of 50) costs about half a training pass: the lite
 * profile's 25-step teacher took 69 CPU s for 256 × 25 × 2 passes (5.4 ms each), a VSD student 124 CPU s for
 * 150 × 8 × 9 training-pass units (11.5 ms each) (BENCHMARKS.md, "Profile of the embedded study").
 */
const SAMPLING_PASS = 0.5;
/** evaluation per image measured, in the same units: ≈ 4 CPU s for 500 images at 11.5 ms a unit */
const EVALUATE_PER_IMAGE = 0.7;

/** the cost of each stage of a cell, in training-pass units of one image */
export function stageCosts(config: CellConfig): Record<CostedStage, number> {
  const d = config.distill;
  let distill = 0;
  if (d.enabled) {
    // the student's forward and backward (3) and the frozen teacher's guided prediction; with the LoRA teacher (VSD)
    // also its own prediction in the gradient and, per update, its forward and backward
    const lora = d.lora_teacher;
    const perSample = 3 + guidedPasses(d.guidance_scale) + (lora.enabled ? guidedPasses(lora.guidance_scale ?? d.guidance_scale) + 3 * lora.updates_per_step : 0);
    distill = d.steps * d.batch_size * perSample;
  }
  const g = config.generate;
  // a student samples in one unguided pass; the teacher guides every step of its sampler
  const perImage = d.enabled ? 1 : (g.sampler === 'one-step' ? 1 : g.steps) * guidedPasses(g.guidance_scale);
  const generate = g.num_samples * perImage * SAMPLING_PASS;
  const evaluate = config.evaluate.metrics.length > 0 ? g.num_samples * EVALUATE_PER_IMAGE : 0;
  return { distill, generate, evaluate };
}

export const estimatedCellCost = (config: CellConfig, cached: ReadonlySet<CostedStage> = new Set()): number =>
  Object.entries(stageCosts(config)).reduce((sum, [stage, cost]) => sum + (cached.has(stage as CostedStage) ? 0 : cost), 0);

/**
 * The cells longest first; equal costs keep the plan's order, so every worker that asks gets the same order.
 * `cached`: the stages of a cell whose output is already stored (they cost nothing now).
 */
export function longestFirst(cells: readonly Cell[], cached: (cell: Cell) => ReadonlySet<CostedStage> = () => new Set()): Cell[] {
  return cells
    .map((cell, i) => ({ cell, i, cost: estimatedCellCost(cell.config, cached(cell)) }))
    .sort((a, b) => b.cost - a.cost || a.i - b.i)
    .map((c) => c.cell);
}
