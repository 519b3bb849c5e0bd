/**
 * Before a run starts anything: a cell that names a native tensor backend (`distill.backend: tensorflow-gpu` or
 * `tensorflow`) needs its npm package, which is optional (its install downloads libtensorflow). Missing, it would
 * fail every such cell at its first stage; here it is one line, exit 2, with the install command. `auto` never
 * needs one: it takes the best backend that loads.
 */
import { BadInputError } from '../errors.js';
import { missingBackendPackage } from '../tensor/backend-choices.js';
import type { Cell } from '../plan/plan.js';

export function assertBackendsInstalled(cells: readonly Cell[]): void {
  const named = [...new Set(cells.map((c) => c.config.distill.backend))].sort();
  for (const choice of named) {
    const missing = missingBackendPackage(choice);
    if (missing === undefined) continue;
    const users = cells.filter((c) => c.config.distill.backend === choice).map((c) => c.slug);
    throw new BadInputError('BACKEND_UNAVAILABLE', `distill.backend: ${missing.message} (${users.length === cells.length ? `all ${users.length} cells` : users.join(', ')})`, missing.hint);
  }
}
