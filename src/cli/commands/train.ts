import type { Argv } from 'yargs';
import { loadRecipe } from '../../recipes/load-recipe.js';
import type { ExtractorPart } from '../../recipes/train-extractors.js';
import type { Io } from '../io.js';

export const command = 'train <recipe>';
export const describe = "train the embedded world's networks from a recipe (feature extractors, teacher); outputs go to models/";

export const builder = (y: Argv) =>
  y
    .positional('recipe', { type: 'string', demandOption: true, description: 'recipe YAML (experiments/recipes/*.yaml)' })
    .option('export-only', { type: 'boolean', default: false, description: 'embedded-extractors: rewrite the ONNX models from the saved weights' })
    .option('snapshot', { type: 'string', description: 'embedded-teacher: write the latest checkpoint (EMA weights) as a teacher folder here, train nothing' })
    .option('only', { type: 'string', array: true, choices: ['perception', 'clip'], description: 'embedded-extractors: train only these networks' })
    .example('$0 train experiments/recipes/embedded-extractors.yaml', 'FID/faithfulness network and CLIP towers, as ONNX')
    .example('$0 train experiments/recipes/embedded-teacher.yaml', 'the text-conditioned teacher the students distil from');

export async function handler(args: { recipe: string; only?: ExtractorPart[]; exportOnly: boolean; snapshot?: string }, io: Io, signal: AbortSignal): Promise<number> {
  const recipe = loadRecipe(args.recipe);
  // training loads tfjs; imported here so that every other command starts without it
  const { reexportExtractors, trainExtractors } = await import('../../recipes/train-extractors.js');
  const { trainTeacher } = await import('../../recipes/train-teacher.js');
  const log = (line: string): void => io.err(line);
  if (recipe.kind === 'embedded-extractors' && args.exportOnly) {
    await reexportExtractors(recipe, args.only ?? ['perception', 'clip']);
  } else if (recipe.kind === 'embedded-extractors') {
    await trainExtractors(args.recipe, recipe, args.only ?? ['perception', 'clip'], log);
  } else {
    await trainTeacher(args.recipe, recipe, log, signal, args.snapshot === undefined ? {} : { snapshotTo: args.snapshot });
  }
  io.out(`wrote ${args.snapshot ?? recipe.out} (manifest.json lists every file's sha256)`);
  return 0;
}
