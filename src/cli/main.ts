import yargs, { type Argv } from 'yargs';
import { BadInputError, InterruptedError, VsdlabError } from '../errors.js';
import { EXIT_CODES, exitCodeFor } from './exit-codes.js';
import { processIo, type Io } from './io.js';
import * as plan from './commands/plan.js';
import * as run from './commands/run.js';
import * as status from './commands/status.js';
import * as schema from './commands/schema.js';
import * as fid from './commands/fid.js';
import * as kid from './commands/kid.js';
import * as clipScore from './commands/clip-score.js';
import * as report from './commands/report.js';
import * as compare from './commands/compare.js';
import * as datasets from './commands/datasets.js';
import * as train from './commands/train.js';
import * as sample from './commands/sample.js';
import * as verify from './commands/verify.js';

interface CommandModule {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<unknown>;
  /** args are typed by each command from its builder; `never` lets every command's signature fit here */
  handler: (args: never, io: Io, signal: AbortSignal) => Promise<number>;
}

const commands: CommandModule[] = [plan, run, status, schema, datasets, train, sample, report, compare, fid, kid, clipScore, verify];

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
  for (const c of commands) {
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
