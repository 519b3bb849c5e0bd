import { BadInputError } from '../errors.js';

/** One problem found in an experiment file or override, located as precisely as the source allows. */
export interface ConfigIssue {
  code: string;
  /** dotted path of the offending key, e.g. `distill.student.parameterization` or `matrix.distill.steps[1]` */
  path: string;
  message: string;
  file?: string;
  line?: number;
}

/** Carries every issue at once, so the user fixes the file in one pass. */
export class ConfigError extends BadInputError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', formatIssues(normaliseIssues(issues)), 'fix the listed keys; `vsdlab schema` prints the accepted fields');
    this.name = 'ConfigError';
    this.issues = normaliseIssues(issues);
  }
}

export const formatIssue = (issue: ConfigIssue): string => {
  const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}` : '<config>';
  return `${where}  ${issue.path || '(root)'}  ${issue.message}`;
};

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const n = issues.length;
  return [`${n} problem${n === 1 ? '' : 's'} in the experiment:`, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
}

/** Same file, line, path and message count once (a bad base value shows up in every cell); sorted by place. */
export function normaliseIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const key = `${i.file}|${i.line}|${i.path}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const place = (i: ConfigIssue): [string, number] => [i.file ?? '\uffff', i.line ?? Number.MAX_SAFE_INTEGER];
  return unique
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => {
      const [fa, la] = place(a.issue);
      const [fb, lb] = place(b.issue);
      return fa < fb ? -1 : fa > fb ? 1 : la - lb || a.order - b.order;
    })
    .map((x) => x.issue);
}
