import type { Reporter } from '../reporter.js';
import { jsonReporter } from './json.js';
import { plainReporter } from './plain.js';
import { ttyReporter } from './tty.js';

export const reporters = {
  tty: (): Reporter => ttyReporter(process.stderr),
  plain: (): Reporter => plainReporter((line) => process.stderr.write(`${line}\n`)),
  json: (): Reporter => jsonReporter((line) => process.stdout.write(`${line}\n`)),
  silent: (): Reporter => ({}),
} satisfies Record<string, () => Reporter>;

export type ReporterName = keyof typeof reporters;

/** A bar on a terminal, plain lines in CI logs and pipes. */
export const defaultReporterName = (): ReporterName => (process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain');
