// fréchet distance on 2048-d statistics: ours (float64 JS, cholesky + symmetric eigenvalues) vs pytorch-fid's
// scipy.linalg.sqrtm formula on the very same statistics, side by side in one run.
// run: npm run build && node dist/bench/metrics/frechet.js [--n 4096] [--dims 2048] [--reps 2]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureAccumulator, NumpyRandomState, encodeNpz, frechetDistance, writeStatsNpz } from '../../src/metrics/stats/index.js';
import { dotRows } from '../../src/metrics/stats/dense-kernels.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = arg('n', 4096);
const DIMS = arg('dims', 2048);
const REPS = arg('reps', 2);
const RANK = 256;

// standard normals from numpy's MT19937 stream (box-muller on 53-bit uniforms): deterministic, seedable
function normals(rng: NumpyRandomState, count: number): Float64Array {
  const out = new Float64Array(count);
  const uniform = (): number => ((rng.nextUint32() >>> 5) * 67108864 + (rng.nextUint32() >>> 6)) / 9007199254740992;
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

// B transposed (row j holds column j of B): the structure both sets share
const BT = normals(new NumpyRandomState(0), DIMS * RANK);

// relu(Z B / sqrt(RANK) + 0.5 * noise + shift) as float32: rank-256 structure plus noise, like pool_3 features
function features(seed: number, shift: number): Float32Array {
  const rng = new NumpyRandomState(seed);
  const Z = normals(rng, N * RANK);
  const noise = normals(rng, N * DIMS);
  const P = new Float64Array(N * DIMS);
  dotRows(Z, 0, RANK, BT, 0, RANK, P, 0, DIMS, N, DIMS, RANK, 1);
  const out = new Float32Array(N * DIMS);
  const s = 1 / Math.sqrt(RANK);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(P[i]! * s + 0.5 * noise[i]! + shift, 0);
  return out;
}

const PY = String.raw`
import json, sys, time
import numpy as np
import scipy
from scipy import linalg

def load(p):
    f = np.load(p)
    return f["mu"], f["sigma"]

mu1, s1 = load(sys.argv[1])
mu2, s2 = load(sys.argv[2])
reps = int(sys.argv[3])

def pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    # pytorch-fid 0.3.0 calculate_frechet_distance (re-typed, see metrics.md 1.3)
    diff = mu1 - mu2
    t = time.perf_counter()
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    t_sqrtm = time.perf_counter() - t
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)), t_sqrtm

def symmetric_route(mu1, s1, mu2, s2):
    # the same cholesky + eigvalsh route as ours, in native LAPACK (context only; needs full rank)
    try:
        L = np.linalg.cholesky(s1)
    except np.linalg.LinAlgError:
        return None
    w = np.linalg.eigvalsh(L.T @ s2 @ L)
    d = mu1 - mu2
    return float(d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.maximum(w, 0)).sum())

out = {"numpy": np.__version__, "scipy": scipy.__version__, "runs": []}
if len(sys.argv) > 4:
    # singular case: exact value without any matrix square root (singular values of X1c X2c^T)
    f = np.load(sys.argv[4])
    a, b = f["f1"].astype(np.float64), f["f2"].astype(np.float64)
    ac, bc = a - a.mean(0), b - b.mean(0)
    sv = np.linalg.svd(ac @ bc.T, compute_uv=False) / np.sqrt((len(a) - 1) * (len(b) - 1))
    d = a.mean(0) - b.mean(0)
    out["svd_reference"] = float(d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * sv.sum())
for _ in range(reps):
    c = time.process_time(); t = time.perf_counter(); fid, t_sqrtm = pytorch_fid(mu1, s1, mu2, s2)
    total, cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter(); sym = symmetric_route(mu1, s1, mu2, s2); t_sym = time.perf_counter() - t
    out["runs"].append({"fid": fid, "seconds": total, "cpu_seconds": cpu, "sqrtm_seconds": t_sqrtm, "lapack_sym_fid": sym, "lapack_sym_seconds": t_sym})
print(json.dumps(out))
`;

interface PyRun { fid: number; seconds: number; cpu_seconds: number; sqrtm_seconds: number; lapack_sym_fid: number | null; lapack_sym_seconds: number }

async function main(): Promise<void> {
  console.log(`fréchet distance bench: ${DIMS}-d statistics from N = ${N} deterministic features per set, ${REPS} reps`);
  let t = performance.now();
  const f1 = features(1, 0);
  const f2 = features(2, 0.05);
  console.log(`features generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const acc1 = new FeatureAccumulator(DIMS);
  for (let r = 0; r < N; r += 50) acc1.add(f1.subarray(r * DIMS, Math.min(N, r + 50) * DIMS));
  const statsSeconds = (performance.now() - t) / 1000;
  const s1 = acc1.finalize();
  const s2 = new FeatureAccumulator(DIMS).add(f2).finalize();
  console.log(`streaming statistics (batches of 50): ${statsSeconds.toFixed(2)} s for ${N} x ${DIMS}`);

  const dir = mkdtempSync(join(tmpdir(), 'vsdlab-frechet-'));
  try {
    const p1 = join(dir, 'stats1.npz');
    const p2 = join(dir, 'stats2.npz');
    await writeStatsNpz(p1, s1);
    await writeStatsNpz(p2, s2, true);
    const ours: { value: number; seconds: number; cpuSeconds: number }[] = [];
    const runOurs = (): void => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = frechetDistance(s1, s2);
      const c = process.cpuUsage(c0);
      ours.push({ value: r.distance, seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 });
    };
    // interleave: ours, scipy (REPS runs), ours again - the machine may be shared
    runOurs();
    const pyArgs = ['-c', PY, p1, p2, String(REPS)];
    if (N < DIMS) {
      const pf = join(dir, 'features.npz');
      writeFileSync(pf, encodeNpz({ f1: { data: f1, shape: [N, DIMS] }, f2: { data: f2, shape: [N, DIMS] } }));
      pyArgs.push(pf);
    }
    const py = spawnSync('/usr/bin/python3', pyArgs, { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (py.status !== 0) throw new Error(`python failed: ${py.stderr}`);
    for (let i = 1; i < REPS; i++) runOurs();
    const pyOut = JSON.parse(py.stdout) as { numpy: string; scipy: string; runs: PyRun[]; svd_reference?: number };
    const scipyBest = Math.min(...pyOut.runs.map((r) => r.seconds));
    const sqrtmBest = Math.min(...pyOut.runs.map((r) => r.sqrtm_seconds));
    const lapackBest = Math.min(...pyOut.runs.map((r) => r.lapack_sym_seconds));
    const oursBest = Math.min(...ours.map((r) => r.seconds));
    const ref = pyOut.runs[0]!.fid;
    const value = ours[0]!.value;
    console.log(`numpy ${pyOut.numpy}, scipy ${pyOut.scipy}, node ${process.version}`);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`ours   (float64 JS, cholesky + tridiagonal QL): FID ${value.toPrecision(17)}  wall ${fmt(ours.map((r) => r.seconds))} s, cpu ${fmt(ours.map((r) => r.cpuSeconds))} s`);
    console.log(`scipy  (pytorch-fid formula, sqrtm)           : FID ${ref.toPrecision(17)}  wall ${fmt(pyOut.runs.map((r) => r.seconds))} s, cpu ${fmt(pyOut.runs.map((r) => r.cpu_seconds))} s (sqrtm alone ${sqrtmBest.toFixed(2)} s wall)`);
    const sym = pyOut.runs[0]!.lapack_sym_fid;
    console.log(`numpy  (cholesky + eigvalsh, native LAPACK)   : ${sym === null ? 'n/a (singular covariance)' : `FID ${sym.toPrecision(17)}  best ${lapackBest.toFixed(2)} s`}`);
    console.log(`relative difference ours vs pytorch-fid: ${(Math.abs(value - ref) / Math.abs(ref)).toExponential(2)}`);
    if (pyOut.svd_reference !== undefined) {
      const svd = pyOut.svd_reference;
      console.log(`singular case, exact SVD reference FID ${svd.toPrecision(17)}: ours off by ${(Math.abs(value - svd) / svd).toExponential(2)}, pytorch-fid off by ${(Math.abs(ref - svd) / svd).toExponential(2)} (relative)`);
    }
    const cpuRatio = Math.min(...pyOut.runs.map((r) => r.cpu_seconds)) / Math.min(...ours.map((r) => r.cpuSeconds));
    console.log(`speed (best of ${REPS}, wall): scipy formula / ours = ${(scipyBest / oursBest).toFixed(2)}x, sqrtm alone / ours = ${(sqrtmBest / oursBest).toFixed(2)}x` +
      (sym === null ? '' : `, native LAPACK route / ours = ${(lapackBest / oursBest).toFixed(2)}x`) + `; cpu time: scipy formula / ours = ${cpuRatio.toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
