import { readYamlFile, type YamlFileKind } from '../util/yaml-file.js';
import { recipeSchema, type Recipe } from './schema.js';

const RECIPE_FILE: YamlFileKind = {
  noun: 'recipe',
  code: 'CONFIG_INVALID',
  hint: 'fix the listed keys; experiments/recipes/ holds working recipes',
  unreadable: 'RECIPE_UNREADABLE',
};

/** Reads a training recipe, every problem located as in experiment files. */
export function loadRecipe(file: string): Recipe {
  return readYamlFile(file, recipeSchema, RECIPE_FILE);
}
