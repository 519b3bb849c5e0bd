import { z } from 'zod';
import { cellSchema, experimentSchema } from './schema.js';

// our own metadata (asset, identity) steers run ids; editors have no use for it
const options = {
  io: 'input',
  unrepresentable: 'any',
  override: (ctx: { jsonSchema: Record<string, unknown> }) => {
    delete ctx.jsonSchema.asset;
    delete ctx.jsonSchema.identity;
  },
} as const;

/**
 * JSON Schema (draft 2020-12) of experiment files. `base` is described by the cell schema with every field
 * optional; matrix/zip values are checked after expansion, so editors see them as lists.
 */
export function experimentJsonSchema(): Record<string, unknown> {
  const file = z.toJSONSchema(experimentSchema, options) as Record<string, unknown>;
  const cell = z.toJSONSchema(cellSchema, options) as Record<string, unknown>;
  const { $schema, ...cellBody } = cell;
  void $schema;
  const properties = { ...(file.properties as Record<string, unknown>), base: { ...cellBody, description: 'fields every cell starts from' } };
  return { ...file, $id: 'https://vsdlab.dev/schema/experiment.schema.json', title: 'vsdlab experiment file', properties };
}
