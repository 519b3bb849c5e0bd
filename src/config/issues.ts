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
  constructor(public readonly issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', formatIssues(issues), 'fix the listed keys; `vsdlab schema` prints the accepted fields');
    this.name = 'ConfigError';
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

/** Same file, line, path and message count once (a bad base value shows up in every cell). */
export function dedupeIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.file}|${i.line}|${i.path}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
