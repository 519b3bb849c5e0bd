import { z } from 'zod';
import { FailureError } from '../errors.js';
import { readYamlFile, type YamlFileKind } from '../util/yaml-file.js';
import { SyntheticSetOptionsSchema, generateSyntheticSet, type ResolvedSyntheticSetOptions } from './synthetic-set.js';
import { writeSyntheticSet, type SyntheticDatasetManifest, type WriteOptions } from './synthetic-write.js';

/** a dataset recipe file (datasets/*.yaml): the generator options, and optionally the fingerprint they must give */
export const SyntheticRecipeSchema = z.strictObject({
  kind: z.literal('synthetic-shapes'),
  description: z.string().optional(),
  options: SyntheticSetOptionsSchema,
  /** the expected SyntheticSetFingerprint.set, so a build can check it made the recorded dataset */
  expectedFingerprint: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type SyntheticRecipe = z.output<typeof SyntheticRecipeSchema> & { options: ResolvedSyntheticSetOptions };

const DATASET_RECIPE_FILE: YamlFileKind = {
  noun: 'dataset recipe',
  code: 'RECIPE_INVALID',
  hint: 'fix the listed keys; datasets/synthetic-shapes.yaml is a working recipe',
  unreadable: 'RECIPE_UNREADABLE',
};

export async function readSyntheticRecipe(path: string): Promise<SyntheticRecipe> {
  return readYamlFile(path, SyntheticRecipeSchema, DATASET_RECIPE_FILE);
}

/**
 * Builds a recipe into `outDir`: generates, checks the content fingerprint against `expectedFingerprint` when the
 * recipe has one (a mismatch means this code no longer makes the recorded dataset), then writes atomically.
 */
export async function buildSyntheticDataset(recipePath: string, outDir: string, opts: WriteOptions = {}): Promise<SyntheticDatasetManifest> {
  const recipe = await readSyntheticRecipe(recipePath);
  const set = generateSyntheticSet(recipe.options);
  if (recipe.expectedFingerprint !== undefined && recipe.expectedFingerprint !== set.fingerprint.set) {
    throw new FailureError(
      'FINGERPRINT_MISMATCH',
      `${recipePath}: generated fingerprint ${set.fingerprint.set} differs from expectedFingerprint ${recipe.expectedFingerprint}`,
      `the generator (${set.generator}) no longer reproduces this recipe; bump SYNTHETIC_GENERATOR and record the new fingerprint deliberately`,
    );
  }
  return writeSyntheticSet(outDir, set, opts);
}
