import { parseOverride, type Override } from '../config/overrides.js';
import { RunStore } from '../tracking/run-store.js';

/** Options several commands share, declared once. */
export const setOption = {
  type: 'string',
  array: true,
  description: 'override a cell field: --set distill.steps=200 (repeatable)',
} as const;

export const storeOption = {
  type: 'string',
  description: 'run store folder (default: $VSDLAB_STORE or ./runs)',
} as const;

export { jsonOption } from './json-option.js';

export const parseOverrides = (set: readonly string[] | undefined): Override[] => (set ?? []).map(parseOverride);

export const openStore = (dir: string | undefined): RunStore => new RunStore(dir ?? process.env.VSDLAB_STORE ?? 'runs');
