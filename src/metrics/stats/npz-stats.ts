// .npz files: numpy's zip of .npy members; pytorch-fid / clean-fid statistics keep `mu` and `sigma` in them.
import { readFileSync } from 'node:fs';
import { writeFileAtomically } from '../../util/atomic-write.js';
import { BadInputError } from '../../errors.js';
import { decodeNpy, encodeNpy, type NpyArray } from './npy-format.js';
import { readZip, writeZip } from './zip-archive.js';
import type { AccumulatorSnapshot, FeatureStats } from './feature-accumulator.js';

/** members of an .npz keyed by name without the '.npy' suffix. */
export function decodeNpz(bytes: Uint8Array, name = '.npz data'): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const e of readZip(bytes, name)) {
    const key = e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name;
    out.set(key, decodeNpy(e.data, `${name}:${e.name}`));
  }
  return out;
}

export interface NpzMember {
  data: Float64Array | Float32Array | Int32Array;
  shape: number[];
}

/** np.savez (compress = false) or np.savez_compressed (compress = true) layout. */
export function encodeNpz(members: Record<string, NpzMember>, compress = false): Uint8Array {
  return writeZip(
    Object.entries(members).map(([key, m]) => ({ name: `${key}.npy`, data: encodeNpy(m.data, m.shape) })),
    compress,
  );
}

/** mu (d) and sigma (d x d) from pytorch-fid / clean-fid statistics bytes; float32 members are widened. */
export function decodeStatsNpz(bytes: Uint8Array, name = 'statistics file'): { mu: Float64Array; sigma: Float64Array; dtype: string } {
  const arrays = decodeNpz(bytes, name);
  const mu = arrays.get('mu');
  const sigma = arrays.get('sigma');
  if (mu === undefined || sigma === undefined) {
    throw new BadInputError('STATS_BAD_NPZ', `${name}: needs arrays 'mu' and 'sigma', found ${[...arrays.keys()].join(', ') || 'none'}`);
  }
  const d = mu.data.length;
  if (mu.shape.length !== 1 || sigma.shape.length !== 2 || sigma.shape[0] !== d || sigma.shape[1] !== d) {
    throw new BadInputError('STATS_DIMS_MISMATCH', `${name}: mu has shape (${mu.shape.join(', ')}) and sigma (${sigma.shape.join(', ')}), expected (d,) and (d, d)`);
  }
  if (mu.dtype.startsWith('<i') || sigma.dtype.startsWith('<i')) throw new BadInputError('STATS_BAD_NPZ', `${name}: mu and sigma must be float arrays`);
  // decodeNpy's arrays are fresh copies: float64 ones are returned as they are (a 2048² sigma is 33 MB)
  const f64 = (a: typeof mu.data): Float64Array => (a instanceof Float64Array ? a : Float64Array.from(a));
  return { mu: f64(mu.data), sigma: f64(sigma.data), dtype: sigma.dtype };
}

export function encodeStatsNpz(stats: { mu: Float64Array; sigma: Float64Array }, compress = false): Uint8Array {
  const d = stats.mu.length;
  if (stats.sigma.length !== d * d) throw new BadInputError('STATS_DIMS_MISMATCH', `sigma has ${stats.sigma.length} values, expected ${d}x${d}`);
  return encodeNpz({ mu: { data: stats.mu, shape: [d] }, sigma: { data: stats.sigma, shape: [d, d] } }, compress);
}

export function readStatsNpz(path: string): { mu: Float64Array; sigma: Float64Array; dtype: string } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new BadInputError('STATS_FILE_UNREADABLE', `cannot read statistics file ${path}: ${(err as Error).message}`);
  }
  return decodeStatsNpz(bytes, path);
}

export async function writeStatsNpz(path: string, stats: FeatureStats | { mu: Float64Array; sigma: Float64Array }, compress = false): Promise<void> {
  const bytes = encodeStatsNpz(stats, compress);
  await writeFileAtomically(path, bytes);
}

/** an accumulator snapshot as .npz (keys n, mean, m2, sum32) to carry a shard's state between processes. */
export function encodeSnapshotNpz(s: AccumulatorSnapshot): Uint8Array {
  return encodeNpz({
    n: { data: Float64Array.of(s.n), shape: [] },
    mean: { data: s.mean, shape: [s.dims] },
    m2: { data: s.m2, shape: [s.dims, s.dims] },
    sum32: { data: s.sum32, shape: [s.dims] },
  });
}

export function decodeSnapshotNpz(bytes: Uint8Array, name = 'accumulator snapshot'): AccumulatorSnapshot {
  const arrays = decodeNpz(bytes, name);
  const get = (key: string): NpyArray => {
    const a = arrays.get(key);
    if (a === undefined) throw new BadInputError('STATS_BAD_SNAPSHOT', `${name}: missing array '${key}'`);
    return a;
  };
  const mean = get('mean');
  const dims = mean.data.length;
  return {
    dims,
    n: get('n').data[0] ?? 0,
    mean: Float64Array.from(mean.data),
    m2: Float64Array.from(get('m2').data),
    sum32: Float32Array.from(get('sum32').data),
  };
}
