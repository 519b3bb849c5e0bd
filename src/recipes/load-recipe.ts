import { readFileSync } from 'node:fs';
import { BadInputError } from '../errors.js';
import { ConfigError } from '../config/issues.js';
import { YamlSource } from '../config/yaml-source.js';
import { fileIssues } from '../config/zod-issues.js';
import { recipeSchema, type Recipe } from './schema.js';

/** Reads a recipe with the same located errors as experiment files. */
export function loadRecipe(file: string): Recipe {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadInputError('RECIPE_UNREADABLE', `${file}: cannot read the recipe (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const source = YamlSource.parse(file, text);
  const parsed = recipeSchema.safeParse(source.toJS(), { reportInput: true });
  if (!parsed.success) throw new ConfigError(fileIssues(parsed.error, { source, yamlPath: [] }));
  return parsed.data;
}
