import type { Stage } from '../tracking/stage.js';
import { distillStage } from './distill-stage.js';
import { evaluateStage } from './evaluate-stage.js';
import { generateStage } from './generate-stage.js';

/** The production stages of a cell, in order. */
export function defaultStages(): Stage[] {
  return [distillStage, generateStage, evaluateStage];
}
