import type { z } from 'zod';
import type { ConfigIssue } from './issues.js';
import { toDotPath } from './dotted.js';
import { findOrigin, issueAt, type Origin, type OriginMap } from './origin.js';

/** Turns zod issues on a cell into located config issues: one per unknown key, each at its source line. */
export function cellIssues(error: z.ZodError, origins: OriginMap): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => {
      const path = key === undefined ? [...issue.path] : [...issue.path, key];
      const { origin, rest } = findOrigin(origins, path);
      const message = key === undefined ? describe(issue) : 'unknown key';
      return issueAt(origin, rest, issue.code, message, toDotPath(path));
    });
  });
}

/** Issues in the experiment file's own structure (top-level keys, matrix shape), located in that file. */
export function fileIssues(error: z.ZodError, root: Origin): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => {
      const path = key === undefined ? [...issue.path] : [...issue.path, key];
      return issueAt(root, path, issue.code, key === undefined ? describe(issue) : 'unknown key');
    });
  });
}

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
