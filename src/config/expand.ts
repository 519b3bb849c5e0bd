import type { Issue } from '../util/issues.js';
import { issueAt, type Origin } from './origin.js';
import type { Assignment, Dimension } from './load-experiment.js';

/** One point of the grid before validation: the dimension values it takes, with where each was written. */
export interface GridPoint {
  values: Record<string, unknown>;
  origins: Record<string, Origin>;
}

export interface GridResult {
  points: GridPoint[];
  issues: Issue[];
}

/**
 * Cartesian product of the dimensions (the first declared varies slowest, seeds fastest), minus `exclude`,
 * plus `include`. Pure: the same dimensions always give the same points in the same order.
 */
export function expandGrid(
  dimensions: readonly Dimension[],
  exclude: readonly Assignment[],
  include: readonly Assignment[],
  /** keys pinned by --set: an exclude over them may legitimately match nothing */
  pinned: ReadonlySet<string> = new Set(),
): GridResult {
  const issues = checkDimensions(dimensions);
  if (issues.length > 0) return { points: [], issues };

  let points: GridPoint[] = [{ values: {}, origins: {} }];
  for (const dim of dimensions) {
    points = points.flatMap((p) =>
      dim.rows.map((row, i) => {
        const values = { ...p.values };
        const origins = { ...p.origins };
        dim.keys.forEach((key, k) => {
          values[key] = row[k];
          const origin = dim.origins[i]?.[k];
          if (origin) origins[key] = origin;
        });
        return { values, origins };
      }),
    );
  }

  const used = new Set<number>();
  const kept = points.filter((p) => {
    const hit = exclude.findIndex((e) => matches(p.values, e.values));
    if (hit >= 0) used.add(hit);
    return hit < 0;
  });
  exclude.forEach((e, i) => {
    const pinnedAway = Object.keys(e.values).some((k) => pinned.has(k));
    if (!used.has(i) && !pinnedAway) issues.push(issueAt(e.origin, [], 'exclude_unmatched', 'matches no cell (a typo in a key or value?)'));
  });

  const seedDim = dimensions.find((d) => d.kind === 'seeds');
  for (const inc of include) {
    const extra = seedDim ? seedDim.rows.map((row) => ({ ...inc.values, seed: row[0] })) : [inc.values];
    for (const values of extra) {
      const origins = Object.fromEntries(Object.keys(values).map((k) => [k, k === 'seed' && seedDim ? seedDim.origin : inc.origin]));
      kept.push({ values, origins });
    }
  }

  if (kept.length === 0 && issues.length === 0) {
    const origin = exclude[0]?.origin ?? dimensions[0]?.origin;
    issues.push(issueAt(origin, [], 'empty_grid', 'the grid has no cells left'));
  }
  return { points: kept, issues };
}

/** Equal zip lengths, no empty dimension, no key varied by two dimensions. */
export function checkDimensions(dimensions: readonly Dimension[]): Issue[] {
  const issues: Issue[] = [];
  const owner = new Map<string, Dimension>();
  for (const dim of dimensions) {
    if (dim.rows.length === 0) issues.push(issueAt(dim.origin, [], 'empty_dimension', 'an empty list leaves no cells'));
    if (dim.kind === 'zip') {
      const lengths = dim.keys.map((k, col) => dim.rows.filter((r) => r[col] !== undefined).length);
      const longest = Math.max(...lengths);
      dim.keys.forEach((key, col) => {
        if (lengths[col] !== longest) {
          issues.push(issueAt(dim.origin, [key], 'zip_length', `has ${lengths[col]} values but this zip group needs ${longest} (lists in a zip vary together)`));
        }
      });
    }
    for (const key of dim.keys) {
      const clash = [...owner.entries()].find(([k]) => k === key || k.startsWith(`${key}.`) || key.startsWith(`${k}.`));
      if (clash) {
        const [other, otherDim] = clash;
        issues.push(issueAt(dim.kind === 'zip' ? dim.origin : dim.origin, dim.kind === 'zip' ? [key] : [], 'key_in_two_dimensions',
          `${key} is already varied by ${describe(otherDim)}${other === key ? '' : ` (as ${other})`}; a key may vary in one dimension only`));
      } else owner.set(key, dim);
    }
  }
  return issues;
}

const describe = (d: Dimension): string => (d.kind === 'zip' ? `zip group "${d.name}"` : d.kind === 'seeds' ? '`seeds`' : `matrix key ${d.name}`);

const matches = (values: Record<string, unknown>, partial: Record<string, unknown>): boolean =>
  Object.entries(partial).every(([k, v]) => k in values && sameValue(values[k], v));

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
