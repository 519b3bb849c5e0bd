import type { Reporter } from '../reporter.js';
import { jsonReporter } from './json.js';
import { plainReporter } from './plain.js';
import { progressSeconds } from './throttle.js';
import { ttyReporter } from './tty.js';

export interface ReporterOptions {
  /** where NDJSON events go: stdout for `run --json` (its output is the events), stderr beside a command's result */
  json?: 'stdout' | 'stderr';
}

const line = (stream: NodeJS.WriteStream) => (text: string) => stream.write(`${text}\n`);

/** The reporters by name (as vitest's ReportersMap); every command's progress goes through one of them. */
export const reporters = {
  tty: (): Reporter => ttyReporter(process.stderr),
  plain: (): Reporter => plainReporter(line(process.stderr), progressSeconds() * 1000),
  json: (o: ReporterOptions = {}): Reporter => jsonReporter(line(o.json === 'stderr' ? process.stderr : process.stdout)),
  silent: (): Reporter => ({}),
} satisfies Record<string, (o?: ReporterOptions) => Reporter>;

export type ReporterName = keyof typeof reporters;

/** A bar on a terminal, plain lines in CI logs and pipes. */
export const defaultReporterName = (): ReporterName => (process.stderr.isTTY && !process.env.CI ? 'tty' : 'plain');
