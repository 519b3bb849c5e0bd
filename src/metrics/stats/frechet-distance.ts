// fréchet distance between two gaussians in float64, with a symmetric (cholesky + eigenvalue) trace square root:
// through OpenBLAS's LAPACK when the native addon is built (native/lapack), else in plain js. same algorithm,
// same tolerances, same answer to rounding.
import { BadInputError, FailureError } from '../../errors.js';
import { assertSameDims } from './feature-matrix.js';
import { choleskyFactor } from './cholesky.js';
import { dotRows, mirrorUpper } from './dense-kernels.js';
import { frechetBackend, nativeLapack, type FrechetBackendName } from './native-lapack.js';
import { symmetricEigenvalues } from './symmetric-eigenvalues.js';

/** 'auto': native LAPACK when the addon is built, else js; 'native': fail when it is not built. */
export type FrechetBackendChoice = 'auto' | 'js' | 'native';

export interface GaussianStats {
  mu: Float64Array | Float32Array;
  /** dims x dims, row-major */
  sigma: Float64Array | Float32Array;
}

export interface FrechetOptions {
  /**
   * pytorch-fid / clean-fid retry sqrtm with sigma + eps*I when scipy's sqrtm returns NaN/Inf (in practice when the
   * product has two or more exactly-zero eigenvalues, e.g. feature dims that are constant in both sets). we do
   * not need the retry: 'never' (default) returns the exact trace of the singular product. 'if-singular' applies
   * the offset whenever the product is numerically singular, 'always' applies it unconditionally; as in
   * pytorch-fid the offset only enters the trace-sqrt term, tr(sigma1) and tr(sigma2) stay unshifted.
   */
  offset?: 'never' | 'if-singular' | 'always';
  /** the offset; pytorch-fid's default 1e-6 */
  eps?: number;
  /** which implementation computes the trace square root; default 'auto' */
  backend?: FrechetBackendChoice;
}

export interface TraceSqrtResult {
  /** tr sqrt(sigma1 sigma2) = sum of sqrt(max(lambda, 0)) over the eigenvalues of the product */
  traceSqrt: number;
  /** numerical rank of sigma1 (xPSTRF tolerance) */
  rank1: number;
  /** sigma1 rank-deficient or the product has an eigenvalue <= rank * eps * largest */
  singular: boolean;
  /** eigenvalues of the symmetric matrix L^T sigma2 L that were below zero (rounding) and counted as zero */
  negativeEigenvalues: number;
  /** the implementation that computed it ('js' also when the native solver failed and the js path took over) */
  backend: FrechetBackendName;
}

export interface FrechetResult {
  distance: number;
  /** ||mu1 - mu2||^2 */
  meanTerm: number;
  trace1: number;
  trace2: number;
  traceSqrt: number;
  rank1: number;
  /** the product was numerically singular (before any offset) */
  singular: boolean;
  offsetApplied: boolean;
  /** the implementation that computed the trace square root */
  backend: FrechetBackendName;
}

function checkStats(s: GaussianStats, what: string): number {
  const d = s.mu.length;
  if (d < 1 || s.sigma.length !== d * d) {
    throw new BadInputError('STATS_DIMS_MISMATCH', `${what}: sigma has ${s.sigma.length} values, expected ${d}x${d} for mu of ${d} dims`);
  }
  for (let i = 0; i < d; i++) if (!Number.isFinite(s.mu[i]!)) throw new BadInputError('STATS_NON_FINITE', `${what}: mu[${i}] is not finite (${s.mu[i]})`);
  for (let i = 0; i < d * d; i++) {
    if (!Number.isFinite(s.sigma[i]!)) throw new BadInputError('STATS_NON_FINITE', `${what}: sigma row ${Math.floor(i / d)} has a non-finite value (${s.sigma[i]})`);
  }
  return d;
}

// (S + S^T) / 2 in float64 (+ eps on the diagonal): exact for the symmetric matrices np.cov produces
function symmetrized(S: Float64Array | Float32Array, d: number, eps: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = 0.5 * (S[i * d + j]! + S[j * d + i]!);
    out[i * d + i] = out[i * d + i]! + eps;
  }
  return out;
}

// tr sqrt from the eigenvalues (ascending) of the r x r matrix L^T S2 L; shared by both paths
function fromEigenvalues(eig: Float64Array, d: number, backend: FrechetBackendName): TraceSqrtResult {
  const r = eig.length;
  if (r === 0) return { traceSqrt: 0, rank1: 0, singular: true, negativeEigenvalues: 0, backend };
  const largest = Math.max(eig[r - 1]!, 0);
  // eigenvalues within the solver's rounding (r * eps * largest) of zero are zero: their square roots
  // (~1e-7 * sqrt(largest) each) would otherwise add a one-sided bias, as scipy's sqrtm does on singular products
  const zeroTol = r * Number.EPSILON * largest;
  let traceSqrt = 0;
  let negative = 0;
  for (let i = 0; i < r; i++) {
    const l = eig[i]!;
    if (l > zeroTol) traceSqrt += Math.sqrt(l);
    else if (l < 0) negative++;
  }
  const singular = r < d || eig[0]! <= zeroTol;
  return { traceSqrt, rank1: r, singular, negativeEigenvalues: negative, backend };
}

// the js path on symmetric float64 inputs: cholesky (pivoted when singular), L^T S2 L, tridiagonal QL
function jsEigenvalues(S1: Float64Array, S2: Float64Array, d: number): Float64Array {
  const f = choleskyFactor(S1, d);
  const r = f.rank;
  if (r === 0) return new Float64Array(0);
  const LT = new Float64Array(r * d);
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    const top = Math.min(i, r - 1);
    for (let a = 0; a <= top; a++) LT[a * d + i] = f.L[ri + a]!;
  }
  let S2p = S2;
  if (f.pivoted) {
    S2p = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      const pi = f.perm[i]! * d;
      for (let j = 0; j < d; j++) S2p[i * d + j] = S2[pi + f.perm[j]!]!;
    }
  }
  // CT = L^T S2 (r x d): row a of L^T is zero before column a
  const CT = new Float64Array(r * d);
  dotRows(LT, 0, d, S2p, 0, d, CT, 0, d, r, d, d, 1, { startAtRow: true });
  // M = CT L = L^T S2 L (r x r, upper triangle): row b of L^T is zero before column b
  const M = new Float64Array(r * r);
  dotRows(CT, 0, d, LT, 0, d, M, 0, r, r, r, d, 1, { startAtCol: true, upper: true });
  mirrorUpper(M, r);
  return symmetricEigenvalues(M, r);
}

// the native path, or null when it is not to be used (js chosen, addon absent, solver failure)
function nativeTraceSqrt(S1: Float64Array | Float32Array, S2: Float64Array | Float32Array, d: number, eps: number, backend: FrechetBackendChoice): TraceSqrtResult | null {
  if (backend === 'js') return null;
  const lib = nativeLapack();
  if (lib === null) {
    if (backend === 'native') {
      throw new FailureError('FRECHET_NATIVE_UNAVAILABLE', `the native LAPACK backend was requested but is unavailable: ${frechetBackend().detail}`, 'run `node scripts/build-native.js`, or leave the backend on auto');
    }
    return null;
  }
  const f64 = (S: Float64Array | Float32Array): Float64Array => (S instanceof Float64Array ? S : Float64Array.from(S));
  const r = lib.choleskyProductEigenvalues(f64(S1), f64(S2), d, eps);
  return r === null ? null : fromEigenvalues(r.eigenvalues, d, 'native-lapack');
}

/**
 * tr sqrt(S1 S2) for symmetric positive semidefinite S1, S2 (d x d, float64, symmetric).
 * with S1[p, p] = L L^T (L: d x r, pivoted when S1 is singular), S1 S2 has the same nonzero eigenvalues as the
 * symmetric r x r matrix L^T S2[p, p] L, whose eigenvalues come from householder tridiagonalisation + QL
 * (native: dpotrf or dpstrf, dsygst or dsymm + dgemm, dsytrd + dsterf). about 3 d^3 flops; eigenvalues below
 * r * eps * largest (rounding, including negative ones) count as 0.
 */
export function traceSqrtProduct(S1: Float64Array, S2: Float64Array, d: number, backend: FrechetBackendChoice = 'auto'): TraceSqrtResult {
  return nativeTraceSqrt(S1, S2, d, 0, backend) ?? fromEigenvalues(jsEigenvalues(S1, S2, d), d, 'js');
}

/**
 * ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2), all in float64 (the pytorch-fid / clean-fid formula;
 * they compute the last term with scipy.linalg.sqrtm, torchmetrics with eigvals(S1 S2)).
 * full-rank statistics: equal to pytorch-fid within ~1e-14 relative. singular ones (N <= dims): ours is the exact
 * value (matches sum of singular values of X1c X2c^T to ~1e-14), while scipy's sqrtm adds square roots of
 * rounding-sized eigenvalues: pytorch-fid is 2e-8 (64-d, N = 40) to 1.2e-7 (2048-d, N = 1000) relative off.
 * clean-fid additionally uses a float32 mean (FeatureAccumulator.finalize({ mean: 'float32' })) and a float32
 * ||mu1 - mu2||^2, which we do not mimic (2e-9 relative in the goldens).
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats, options: FrechetOptions = {}): FrechetResult {
  const d = checkStats(a, 'first statistics');
  assertSameDims(d, checkStats(b, 'second statistics'), 'statistics');
  const eps = options.eps ?? 1e-6;
  const mode = options.offset ?? 'never';
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new BadInputError('STATS_BAD_OPTION', `eps must be a finite number >= 0, got ${eps}`);
  let meanTerm = 0;
  let trace1 = 0;
  let trace2 = 0;
  for (let i = 0; i < d; i++) {
    const diff = a.mu[i]! - b.mu[i]!;
    meanTerm += diff * diff;
    trace1 += a.sigma[i * d + i]!;
    trace2 += b.sigma[i * d + i]!;
  }
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'js' && backend !== 'native') throw new BadInputError('STATS_BAD_OPTION', `backend must be auto, js or native, got ${String(backend)}`);
  // the native path symmetrises (and offsets) the raw sigmas itself, with the same arithmetic as symmetrized()
  const traceSqrt = (offset: number): TraceSqrtResult =>
    nativeTraceSqrt(a.sigma, b.sigma, d, offset, backend) ??
    fromEigenvalues(jsEigenvalues(symmetrized(a.sigma, d, offset), symmetrized(b.sigma, d, offset), d), d, 'js');
  const offsetFirst = mode === 'always';
  let ts = traceSqrt(offsetFirst ? eps : 0);
  let offsetApplied = offsetFirst;
  const singular = ts.singular;
  if (mode === 'if-singular' && singular) {
    ts = traceSqrt(eps);
    offsetApplied = true;
  }
  return {
    distance: meanTerm + trace1 + trace2 - 2 * ts.traceSqrt,
    meanTerm,
    trace1,
    trace2,
    traceSqrt: ts.traceSqrt,
    rank1: ts.rank1,
    singular,
    offsetApplied,
    backend: ts.backend,
  };
}
