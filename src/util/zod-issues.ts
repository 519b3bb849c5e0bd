import type { z } from 'zod';

/** A zod issue in the wording of file issues: the full path of the offending key, its code and message. */
export interface SchemaIssue {
  path: PropertyKey[];
  code: string;
  message: string;
}

/** One issue per problem, and one per unknown key (zod groups them), each with the key in its path. */
export function schemaIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.flatMap((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => ({
      path: key === undefined ? [...issue.path] : [...issue.path, key],
      code: issue.code,
      message: key === undefined ? describe(issue) : 'unknown key',
    }));
  });
}

// what was wrong and what came instead; the schema is parsed with `reportInput` so the input is there to quote
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${received(issue.input).replace(/^, got \w+/, ', got')}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}${received(issue.input)}`;
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return `unknown ${String(issue.discriminator ?? 'kind')}${received(issue.input)}`;
  }
  return issue.message;
}

const received = (input: unknown): string =>
  input === undefined ? ', got nothing' : `, got ${Array.isArray(input) ? 'a list' : input === null ? 'null' : typeof input} ${short(input)}`;

const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};
