import { z } from 'zod';
import { cellSchema, experimentSchema } from './schema.js';

/**
 * JSON Schema (draft 2020-12) of experiment files. `base` is described by the cell schema with every field
 * optional; matrix/zip values are checked after expansion, so editors see them as lists.
 */
export function experimentJsonSchema(): Record<string, unknown> {
  const file = z.toJSONSchema(experimentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const cell = z.toJSONSchema(cellSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...cellBody } = cell;
  void $schema;
  const properties = { ...(file.properties as Record<string, unknown>), base: { ...cellBody, description: 'fields every cell starts from' } };
  return { ...file, $id: 'https://vsdlab.dev/schema/experiment.schema.json', title: 'vsdlab experiment file', properties };
}
