/**
 * What went wrong, as far as the caller can act on it. src/cli maps each kind to one exit code; nothing below it
 * names exit codes. 'failure': the operation failed for a reason outside the user's input (sbatch refused the job,
 * training diverged); 'internal': a bug (any error that is not a VsdlabError counts as one too).
 */
export type ErrorKind = 'bad-input' | 'missing-asset' | 'conflict' | 'interrupted' | 'failure' | 'internal';

/** An error the CLI knows how to print: a kind, a stable UPPER_SNAKE_CASE code, one line of message, an optional hint. */
export abstract class VsdlabError extends Error {
  // every error is thrown as one of the kinds below, so the CLI never has to guess an exit code
  abstract readonly kind: ErrorKind;
  readonly hint: string | undefined;

  constructor(
    public readonly code: string,
    message: string,
    hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** Bad user input (a file, key, flag, image, model): nothing computed is lost, the user fixes the input. */
export class BadInputError extends VsdlabError {
  override readonly kind = 'bad-input';
}

/** A file or folder the input names (a model, weights, a dataset) is not there. */
export class MissingAssetError extends VsdlabError {
  override readonly kind = 'missing-asset';
}

/** Someone else holds what this needs (a lock, a folder in use): trying again later can succeed. */
export class ConflictError extends VsdlabError {
  override readonly kind = 'conflict';
}

/** The user asked to stop (Ctrl-C, SIGTERM): state is saved, a re-run resumes. */
export class InterruptedError extends VsdlabError {
  override readonly kind = 'interrupted';
}

/** The operation failed for a reason outside the user's input: a tool refused, training diverged. */
export class FailureError extends VsdlabError {
  override readonly kind = 'failure';
}
