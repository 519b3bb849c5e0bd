import { VsdlabError, type ErrorKind } from '../errors.js';

/**
 * The one table from what went wrong to the process exit code (sysexits.h where one fits). Bad input, missing or
 * changed assets included, is 2; a conflict (a lock held elsewhere) is EX_TEMPFAIL, worth retrying; an internal
 * bug is EX_SOFTWARE; an interrupt is 128 + SIGINT, as shells report it.
 */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  'bad-input': 2,
  'missing-asset': 2,
  conflict: 75,
  interrupted: 130,
  failure: 1,
  internal: 70,
};

/**
 * A pool worker that ran its `--cells-per-worker` share with cells left exits with this code, and its pool starts a
 * fresh process in its place (not an error; distinct from every code above).
 */
export const WORKER_RECYCLE_EXIT = 76;

/** The exit code for anything thrown: a VsdlabError by its kind, anything else is an internal bug. */
export const exitCodeFor = (e: unknown): number => EXIT_CODES[e instanceof VsdlabError ? e.kind : 'internal'];
