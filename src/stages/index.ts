import type { Stage } from '../tracking/stage.js';
import { VsdlabError } from '../errors.js';

/**
 * The production stages, in order. Each stage lands with its issue (distill: #4, generate: #4/#5,
 * evaluate: #3); until then a cell that needs it fails with a clear message instead of pretending to run.
 */
export function defaultStages(): Stage[] {
  return [missing('distill', '#4 (distillation engine)'), missing('generate', '#4 (distillation engine)'), missing('evaluate', '#3 (metrics)')];
}

function missing(name: Stage['name'], issue: string): Stage {
  return {
    name,
    version: 'unavailable',
    assets: [],
    inputs: () => null,
    run: () => {
      throw new VsdlabError('STAGE_UNAVAILABLE', `the ${name} stage is not in this build yet; it arrives with issue ${issue}`);
    },
  };
}
