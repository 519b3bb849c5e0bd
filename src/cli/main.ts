import yargs, { type Argv } from 'yargs';
import { BadInputError, InterruptedError, VsdlabError } from '../errors.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';
import { processIo, type Io } from './io.js';

interface CommandModule {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<unknown>;
  /** args are typed by each command from its builder; `never` lets every command's signature fit here */
  handler: (args: never, io: Io, signal: AbortSignal) => Promise<number>;
}

// Each command's module (and what it imports: zod schemas, the report stack, tfjs) loads only when that
// command runs; help and typo suggestions load them all. `vsdlab fid a.npz b.npz` starts in a third of the time.
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<CommandModule>]> = [
  ['plan', () => import('./commands/plan.js')],
  ['run', () => import('./commands/run.js')],
  ['status', () => import('./commands/status.js')],
  ['schema', () => import('./commands/schema.js')],
  ['datasets', () => import('./commands/datasets.js')],
  ['train', () => import('./commands/train.js')],
  ['sample', () => import('./commands/sample.js')],
  ['report', () => import('./commands/report.js')],
  ['compare', () => import('./commands/compare.js')],
  ['fid', () => import('./commands/fid.js')],
  ['kid', () => import('./commands/kid.js')],
  ['clip-score', () => import('./commands/clip-score.js')],
  ['shards', () => import('./commands/shards.js')],
  ['memory', () => import('./commands/memory.js')],
];

/** the command named first on the command line, or every command (no name, an option first, or a typo) */
async function commandsFor(argv: readonly string[]): Promise<CommandModule[]> {
  const named = COMMANDS.find(([name]) => name === argv[0]);
  return named ? [await named[1]()] : Promise.all(COMMANDS.map(([, load]) => load()));
}

/** The CLI entry: parses argv, runs one command, and is the only place errors become exit codes. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT_CODES.interrupted);
    io.err('interrupt: finishing the current step and saving state (Ctrl-C again to quit now)');
    abort.abort(new InterruptedError('INTERRUPTED', 'interrupted by the user'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  let code = 0;
  const cli = yargs([...argv])
    .scriptName('vsdlab')
    .usage('$0 <command> [options]\n\nOne-step text-to-image distillation studies: plan, run, evaluate and report.')
    .strict()
    .demandCommand(1, 'name a command')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((message, error) => {
      throw error ?? new BadInputError('USAGE', message, 'run `vsdlab --help` (or `vsdlab <command> --help`) for usage');
    });
  for (const c of await commandsFor(argv)) {
    cli.command(c.command, c.describe, c.builder, async (args) => {
      code = await c.handler(args as never, io, abort.signal);
    });
  }
  try {
    await cli.parseAsync();
    return code;
  } catch (e) {
    return reportError(e, io);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** Known errors print as their message and hint, no stack; anything else is a bug and says so. */
function reportError(e: unknown, io: Io): number {
  if (e instanceof VsdlabError) {
    io.err(`vsdlab: ${e.message}`);
    if (e.hint) io.err(`hint: ${e.hint}`);
    return exitCodeFor(e);
  }
  const error = e instanceof Error ? e : new Error(String(e));
  io.err(`vsdlab: internal error: ${error.message}`);
  io.err(process.env.VSDLAB_DEBUG ? (error.stack ?? '') : 'set VSDLAB_DEBUG=1 for the stack trace, and please report it');
  return exitCodeFor(error);
}
