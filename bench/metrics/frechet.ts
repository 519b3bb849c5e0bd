// fréchet distance on 2048-d statistics: ours (cholesky + symmetric eigenvalues; native LAPACK when the addon is
// built, and the float64 JS path) vs pytorch-fid's scipy.linalg.sqrtm formula on the very same statistics, side by
// side in one run, with numpy's native LAPACK doing our route for context.
// run: npm run build && node scripts/build-native.js && node dist/bench/metrics/frechet.js [--n 4096] [--dims 2048]
//      [--reps 3] [--js-reps 1]   (--reps: native and python runs; --js-reps 0 skips the slow js path)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureAccumulator, NumpyRandomState, encodeNpz, frechetBackend, frechetDistance, writeStatsNpz, type FrechetBackendChoice } from '../../src/metrics/stats/index.js';
import { dotRows } from '../../src/metrics/stats/dense-kernels.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = arg('n', 4096);
const DIMS = arg('dims', 2048);
const REPS = arg('reps', 3);
const JS_REPS = arg('js-reps', 1);
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

def clock():
    return time.perf_counter(), time.process_time()

def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]

def pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    # pytorch-fid 0.3.0 calculate_frechet_distance (re-typed, see metrics.md 1.3)
    diff = mu1 - mu2
    t = clock()
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    t_sqrtm = since(t)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("Imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)), t_sqrtm

def symmetric_route(mu1, s1, mu2, s2):
    # the same cholesky + eigvalsh route as ours, in numpy's native LAPACK (context only; needs full rank)
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
    t = clock(); fid, t_sqrtm = pytorch_fid(mu1, s1, mu2, s2); total = since(t)
    t = clock(); sym = symmetric_route(mu1, s1, mu2, s2); t_sym = since(t)
    out["runs"].append({"fid": fid, "formula": total, "sqrtm": t_sqrtm, "lapack_sym_fid": sym, "lapack_sym": t_sym})
print(json.dumps(out))
`;

/** [wall, cpu] seconds */
type Timing = [number, number];
interface PyRun { fid: number; formula: Timing; sqrtm: Timing; lapack_sym_fid: number | null; lapack_sym: Timing }
interface OursRun { value: number; wall: number; cpu: number }

const best = (xs: Timing[], i: 0 | 1): number => Math.min(...xs.map((x) => x[i]));
const secs = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
const rel = (a: number, b: number): string => (Math.abs(a - b) / Math.abs(b)).toExponential(1);

async function main(): Promise<void> {
  const info = frechetBackend();
  console.log(`fréchet distance bench: ${DIMS}-d statistics from N = ${N} deterministic features per set; ${REPS} native/python reps, ${JS_REPS} js`);
  console.log(`default backend: ${info.backend} (${info.detail})`);
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
    const runs: Record<'native' | 'js', OursRun[]> = { native: [], js: [] };
    const runOurs = (backend: 'native' | 'js'): void => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = frechetDistance(s1, s2, { backend: backend as FrechetBackendChoice });
      const c = process.cpuUsage(c0);
      if (r.backend !== (backend === 'native' ? 'native-lapack' : 'js')) throw new Error(`asked for ${backend}, ran ${r.backend}`);
      runs[backend].push({ value: r.distance, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 });
    };
    const native = info.backend === 'native-lapack';
    // interleaved: native, python (its REPS runs), native again, then the slow js path - the machine is shared
    const half = Math.ceil(REPS / 2);
    if (native) for (let i = 0; i < half; i++) runOurs('native');
    const pyArgs = ['-c', PY, p1, p2, String(REPS)];
    if (N < DIMS) {
      const pf = join(dir, 'features.npz');
      writeFileSync(pf, encodeNpz({ f1: { data: f1, shape: [N, DIMS] }, f2: { data: f2, shape: [N, DIMS] } }));
      pyArgs.push(pf);
    }
    const py = spawnSync('/usr/bin/python3', pyArgs, { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (py.status !== 0) throw new Error(`python failed: ${py.stderr}`);
    if (native) for (let i = half; i < REPS; i++) runOurs('native');
    for (let i = 0; i < JS_REPS; i++) runOurs('js');
    const pyOut = JSON.parse(py.stdout) as { numpy: string; scipy: string; runs: PyRun[]; svd_reference?: number };
    const ref = pyOut.runs[0]!.fid;
    console.log(`numpy ${pyOut.numpy}, scipy ${pyOut.scipy}, node ${process.version}; best of the runs, wall / cpu seconds (every run in brackets)`);
    const list = (xs: Timing[]): string => `[${xs.map((x) => `${secs(x[0])}/${secs(x[1])}`).join(', ')}]`;
    const row = (name: string, value: number | null | undefined, xs: Timing[]): void => {
      const fid = value === undefined ? ''.padEnd(22) : `FID ${value === null ? 'n/a (singular)'.padEnd(18) : value.toPrecision(17)}`;
      console.log(`${name.padEnd(42)} ${fid}  ${secs(best(xs, 0))} / ${secs(best(xs, 1))} s  ${list(xs)}`);
    };
    const timings = (xs: OursRun[]): Timing[] => xs.map((r) => [r.wall, r.cpu]);
    const threads = /(\d+) threads?$/.exec(info.detail)?.[1] ?? '?';
    if (native) row(`ours, native LAPACK (OpenBLAS, ${threads} thr.)`, runs.native[0]!.value, timings(runs.native));
    if (JS_REPS > 0) row('ours, float64 JS', runs.js[0]!.value, timings(runs.js));
    row('pytorch-fid formula (scipy sqrtm)', ref, pyOut.runs.map((r) => r.formula));
    row('  of which sqrtm(s1.dot(s2))', undefined, pyOut.runs.map((r) => r.sqrtm));
    const sym = pyOut.runs[0]!.lapack_sym_fid;
    row('numpy cholesky + eigvalsh (our route)', sym, pyOut.runs.map((r) => r.lapack_sym));
    for (const [name, xs] of [['native', runs.native], ['js', runs.js]] as const) {
      if (xs.length === 0) continue;
      const wall = Math.min(...xs.map((r) => r.wall));
      const cpu = Math.min(...xs.map((r) => r.cpu));
      const ratio = (ts: Timing[]): string => `${(best(ts, 0) / wall).toFixed(1)}x wall, ${(best(ts, 1) / cpu).toFixed(1)}x cpu`;
      console.log(`${name}: relative difference vs pytorch-fid ${rel(xs[0]!.value, ref)}` + (sym === null ? '' : `, vs numpy eigvalsh route ${rel(xs[0]!.value, sym)}`) +
        `; speed: pytorch-fid formula / ours = ${ratio(pyOut.runs.map((r) => r.formula))}, sqrtm alone / ours = ${ratio(pyOut.runs.map((r) => r.sqrtm))}` +
        (sym === null ? '' : `, numpy route / ours = ${ratio(pyOut.runs.map((r) => r.lapack_sym))}`));
    }
    if (runs.native.length > 0 && runs.js.length > 0) console.log(`native vs js: relative difference ${rel(runs.native[0]!.value, runs.js[0]!.value)}`);
    if (pyOut.svd_reference !== undefined) {
      const svd = pyOut.svd_reference;
      const ours = [...runs.native.slice(0, 1).map((r) => `native ${rel(r.value, svd)}`), ...runs.js.slice(0, 1).map((r) => `js ${rel(r.value, svd)}`)].join(', ');
      console.log(`singular case, exact SVD reference FID ${svd.toPrecision(17)}: relative distance ${ours}, pytorch-fid ${rel(ref, svd)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
