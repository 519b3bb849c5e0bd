/** An error the CLI knows how to print: a stable code, one line of message, an exit code and an optional hint. */
export class VsdlabError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly exitCode = 1,
    public readonly hint?: string,
  ) {
    super(message);
    this.name = 'VsdlabError';
  }
}

/** Bad user input (a file, key, flag or image): exit code 2, nothing computed is lost. */
export class BadInputError extends VsdlabError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, 2, hint);
    this.name = 'BadInputError';
  }
}
