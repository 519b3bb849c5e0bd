/**
 * Checks a lazy weight view against the tensors an architecture expects, before any data is read: every expected
 * name present with its shape and a readable dtype, and nothing else in the file. The first few problems are named
 * (file and tensor) in one line, with the count of the rest.
 */
import { BadInputError } from '../errors.js';
import { isReadable } from './safetensors-dtype.js';
import type { WeightView } from './weight-view.js';

export type TensorMismatch =
  | { kind: 'missing'; name: string; shape: number[] }
  | { kind: 'unexpected'; name: string; file: string; shape: number[] }
  | { kind: 'shape'; name: string; file: string; shape: number[]; expected: number[] }
  | { kind: 'dtype'; name: string; file: string; dtype: string };

export interface CheckOptions {
  /** unexpected names that are fine (buffers such as `text_model.embeddings.position_ids`) */
  ignoreUnexpected?: (name: string) => boolean;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** every mismatch, expected names first in their order, then the unexpected ones sorted */
export function tensorMismatches(view: WeightView, expected: ReadonlyMap<string, readonly number[]>, options: CheckOptions = {}): TensorMismatch[] {
  const out: TensorMismatch[] = [];
  for (const [name, shape] of expected) {
    const info = view.info(name);
    if (info === undefined) out.push({ kind: 'missing', name, shape: [...shape] });
    else if (!sameShape(info.shape, shape)) out.push({ kind: 'shape', name, file: info.file, shape: info.shape, expected: [...shape] });
    else if (!isReadable(info.dtype)) out.push({ kind: 'dtype', name, file: info.file, dtype: info.dtype });
  }
  for (const name of view.names()) {
    if (expected.has(name) || options.ignoreUnexpected?.(name) === true) continue;
    const info = view.info(name)!;
    out.push({ kind: 'unexpected', name, file: info.file, shape: info.shape });
  }
  return out;
}

export function describeMismatch(m: TensorMismatch): string {
  switch (m.kind) {
    case 'missing':
      return `${m.name} ${fmt(m.shape)} is missing`;
    case 'unexpected':
      return `${m.file}: ${m.name} ${fmt(m.shape)} is not part of the architecture`;
    case 'shape':
      return `${m.file}: ${m.name} has shape ${fmt(m.shape)}, the architecture needs ${fmt(m.expected)}`;
    case 'dtype':
      return `${m.file}: ${m.name} has dtype ${m.dtype}, which is not read`;
  }
}

/** throws one BadInputError naming the first `limit` mismatches, if there are any */
export function checkTensors(view: WeightView, expected: ReadonlyMap<string, readonly number[]>, options: CheckOptions & { limit?: number; what?: string } = {}): void {
  const found = tensorMismatches(view, expected, options);
  if (found.length === 0) return;
  const limit = options.limit ?? 5;
  const shown = found.slice(0, limit).map(describeMismatch).join('; ');
  const more = found.length > limit ? `; and ${found.length - limit} more` : '';
  throw new BadInputError(
    'WEIGHTS_MISMATCH',
    `${options.what ?? view.files[0] ?? 'weights'}: ${found.length} tensor(s) do not fit the architecture: ${shown}${more}`,
    'the weights do not belong to this config: check that the folder was saved whole by one diffusers/transformers version',
  );
}
