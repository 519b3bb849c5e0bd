import type { Argv } from 'yargs';
import { experimentJsonSchema } from '../../config/json-schema.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import type { Io } from '../io.js';

export const command = 'schema';
export const describe = 'print (or write) the JSON Schema of experiment files, for editor completion and checks';

export const builder = (y: Argv) =>
  y
    .option('out', { type: 'string', description: 'write to this file instead of stdout' })
    .example('$0 schema --out schema/experiment.schema.json', 'then start YAML files with # yaml-language-server: $schema=<path>');

export async function handler(args: { out?: string }, io: Io): Promise<number> {
  const text = `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
  if (args.out) {
    await writeFileAtomically(args.out, text);
    io.err(`wrote ${args.out}`);
  } else io.out(text.trimEnd());
  return 0;
}
