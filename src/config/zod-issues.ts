import type { z } from 'zod';
import { toDotPath, type Issue } from '../util/issues.js';
import { schemaIssues } from '../util/zod-issues.js';
import { findOrigin, issueAt, type OriginMap } from './origin.js';

/** Turns zod issues on a cell into located issues: one per unknown key, each at the line that wrote it. */
export function cellIssues(error: z.ZodError, origins: OriginMap): Issue[] {
  return schemaIssues(error).map(({ path, code, message }) => {
    const { origin, rest } = findOrigin(origins, path);
    return issueAt(origin, rest, code, message, toDotPath(path));
  });
}
