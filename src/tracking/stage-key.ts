import type { Cell } from '../plan/plan.js';
import { CODE_VERSION } from '../plan/identity.js';
import { hashValue } from '../util/hash.js';
import type { Stage } from './stage.js';

/**
 * A stage's cache key: its own inputs, version, the assets it reads and the keys of the stages before it.
 * Changing only evaluation settings leaves the distill and generate keys unchanged, so only `evaluate` runs.
 */
export function stageKey(stage: Stage, cell: Cell, upstreamKeys: readonly string[]): string {
  const assets = cell.assets
    .filter((a) => stage.assets.some((prefix) => a.key === prefix || a.key.startsWith(`${prefix}.`) || a.key.startsWith(`${prefix}[`)))
    .map((a) => [a.key, a.sha256]);
  return hashValue({ stage: stage.name, version: stage.version, code: CODE_VERSION, inputs: stage.inputs(cell.config), assets, upstream: upstreamKeys });
}
