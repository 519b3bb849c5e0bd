// Problems in an input file, as data (zod style): each with its place, formatted only when the error is made.
import { BadInputError } from '../errors.js';

/** One problem found in an input file or flag, located as precisely as the source allows. */
export interface Issue {
  code: string;
  /** dotted path of the offending key, e.g. `distill.student.parameterization` or `matrix.distill.steps[1]` */
  path: string;
  message: string;
  file?: string;
  line?: number;
}

/** A kind of input as its errors name it: "3 problems in the <noun>:", with that error code and hint. */
export interface IssueKind {
  noun: string;
  code: string;
  hint: string;
}

/** Carries every issue at once, so the user fixes the file in one pass. */
export class IssuesError extends BadInputError {
  readonly issues: readonly Issue[];

  constructor(kind: IssueKind, issues: readonly Issue[]) {
    const sorted = normaliseIssues(issues);
    super(kind.code, formatIssues(kind.noun, sorted), kind.hint);
    this.name = 'IssuesError';
    this.issues = sorted;
  }
}

export const formatIssue = (issue: Issue): string => {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}` : '<config>';
  return `${where}  ${issue.path || '(root)'}  ${issue.message}`;
};

export function formatIssues(noun: string, issues: readonly Issue[]): string {
  const n = issues.length;
  return [`${n} problem${n === 1 ? '' : 's'} in the ${noun}:`, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
}

/** Same file, line, path and message count once (a bad base value shows up in every cell); sorted by place. */
export function normaliseIssues(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const key = `${i.file}|${i.line}|${i.path}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const place = (i: Issue): [string, number] => [i.file ?? '\uffff', i.line ?? Number.MAX_SAFE_INTEGER];
  return unique
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => {
      const [fa, la] = place(a.issue);
      const [fb, lb] = place(b.issue);
      return fa < fb ? -1 : fa > fb ? 1 : la - lb || a.order - b.order;
    })
    .map((x) => x.issue);
}

/** zod-style display of a path: distill.student.parameterization, evaluate.metrics[0].mode */
export function toDotPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}
