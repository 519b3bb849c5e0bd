// the optional native LAPACK addon (native/lapack, built by `node scripts/build-native.js`): loaded once, guarded.
// absent or broken, the fréchet distance takes its js path; nothing else depends on it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CholeskyProductEigenvalues {
  /** eigenvalues of L^T S2[p, p] L, ascending; length = numerical rank of S1 */
  eigenvalues: Float64Array;
  /** S1 was not numerically positive definite: dpstrf (pivoted) instead of dpotrf */
  pivoted: boolean;
}

export interface NativeLapack {
  /**
   * symmetrises both row-major d x d inputs ((S + S^T) / 2 + eps I, as the js path) and factors S1 = L L^T with
   * the js path's rank tolerance. null: the eigenvalue solver did not converge.
   */
  choleskyProductEigenvalues(sigma1: Float64Array, sigma2: Float64Array, d: number, eps: number): CholeskyProductEigenvalues | null;
  info(): { openblas: string; threads: number };
}

export type FrechetBackendName = 'native-lapack' | 'js';

export interface FrechetBackendInfo {
  /** what frechetDistance uses by default */
  backend: FrechetBackendName;
  /** native: the OpenBLAS build and thread count; js: why the addon is not used */
  detail: string;
}

// dist/src/metrics/stats/native-lapack.js -> repository root
const addonPath = resolve(fileURLToPath(import.meta.url), '../../../../..', 'native', 'lapack', 'build', 'Release', 'vsdlab_lapack.node');

let loaded: { lib: NativeLapack | null; info: FrechetBackendInfo } | undefined;

function isNativeLapack(x: unknown): x is NativeLapack {
  const o = x as Partial<NativeLapack> | null;
  return typeof o === 'object' && o !== null && typeof o.choleskyProductEigenvalues === 'function' && typeof o.info === 'function';
}

function load(): { lib: NativeLapack | null; info: FrechetBackendInfo } {
  if (process.env.VSDLAB_FRECHET_BACKEND === 'js') return { lib: null, info: { backend: 'js', detail: 'VSDLAB_FRECHET_BACKEND=js' } };
  if (!existsSync(addonPath)) {
    return { lib: null, info: { backend: 'js', detail: 'native LAPACK addon not built (node scripts/build-native.js)' } };
  }
  try {
    const lib: unknown = createRequire(import.meta.url)(addonPath);
    if (!isNativeLapack(lib)) return { lib: null, info: { backend: 'js', detail: `${addonPath} does not export choleskyProductEigenvalues` } };
    const i = lib.info();
    return { lib, info: { backend: 'native-lapack', detail: `${i.openblas}, ${i.threads} thread${i.threads === 1 ? '' : 's'}` } };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return { lib: null, info: { backend: 'js', detail: `native LAPACK addon does not load: ${message}` } };
  }
}

/** the addon, or null when it is absent, fails to load, or VSDLAB_FRECHET_BACKEND=js. */
export function nativeLapack(): NativeLapack | null {
  loaded ??= load();
  return loaded.lib;
}

/** which path frechetDistance takes by default, and why (for provenance). */
export function frechetBackend(): FrechetBackendInfo {
  loaded ??= load();
  return { ...loaded.info };
}
