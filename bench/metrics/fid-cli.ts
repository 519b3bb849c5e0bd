// `vsdlab fid A.npz B.npz` on 2048-d statistics as a user runs it, whole process, against the Fréchet math
// alone (frechetDistance on statistics already in memory, this process) and pytorch-fid's formula in Python
// (np.load, then scipy.linalg.sqrtm of s1·s2 and the trace terms; its whole process as well), side by side:
// the three alternate round by round. Wall and CPU seconds (CPU counts every thread: OpenBLAS may use two).
// run: npm run build && node scripts/build-native.js && node dist/bench/metrics/fid-cli.js [--rounds 3] [--dims 2048]
//      [--baseline DIR] (also time DIR/bin/vsdlab.js, e.g. a build of an older commit) [--no-python]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frechetBackend, frechetDistance, readStatsNpz, writeStatsNpz } from '../../src/metrics/stats/index.js';
import { dotRows } from '../../src/metrics/stats/dense-kernels.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 3);
const DIMS = arg('dims', 2048);
const RANK = 256;
const at = process.argv.indexOf('--baseline');
const BASELINE = at >= 0 ? process.argv[at + 1] : undefined;
const PYTHON = !process.argv.includes('--no-python');

// xorshift32 uniforms in [-0.5, 0.5): deterministic statistics without a feature pass
function uniforms(seed: number, count: number): Float64Array {
  let x = seed >>> 0 || 1;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

/** Σ = F Fᵀ / RANK + a positive diagonal (full rank, pool3-like low-rank structure), μ uniform + shift */
function statistics(seed: number, shift: number): { mu: Float64Array; sigma: Float64Array } {
  const F = uniforms(seed, DIMS * RANK);
  const sigma = new Float64Array(DIMS * DIMS);
  dotRows(F, 0, RANK, F, 0, RANK, sigma, 0, DIMS, DIMS, DIMS, RANK, 1);
  const diag = uniforms(seed + 1, DIMS);
  for (let i = 0; i < DIMS; i++) for (let j = 0; j < DIMS; j++) sigma[i * DIMS + j] = sigma[i * DIMS + j]! / RANK + (i === j ? 0.01 + 0.01 * Math.abs(diag[i]!) : 0);
  // exactly symmetric
  for (let i = 0; i < DIMS; i++) for (let j = 0; j < i; j++) sigma[i * DIMS + j] = sigma[j * DIMS + i]!;
  const mu = uniforms(seed + 2, DIMS).map((v) => v + shift);
  return { mu, sigma };
}

const PY = String.raw`
import json, sys, time
import numpy as np
from scipy import linalg
t0 = time.perf_counter(); c0 = time.process_time()
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
mu1, s1, mu2, s2 = a['mu'], a['sigma'], b['mu'], b['sigma']
t1 = time.perf_counter(); c1 = time.process_time()
# pytorch-fid 0.3.0 calculate_frechet_distance
diff = mu1 - mu2
covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
if not np.isfinite(covmean).all():
    offset = np.eye(s1.shape[0]) * 1e-6
    covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
if np.iscomplexobj(covmean):
    covmean = covmean.real
fid = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
t2 = time.perf_counter(); c2 = time.process_time()
print(json.dumps({"fid": float(fid), "load": [t1 - t0, c1 - c0], "formula": [t2 - t1, c2 - c1]}))
`;

type Timing = [wall: number, cpu: number];

/** a child process's wall and CPU seconds (user + system, all its threads) via GNU time */
function timed(cmd: string, args: string[]): { timing: Timing; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${r.stderr}`);
  return { timing: [Number(m[1]), Number(m[2]) + Number(m[3])], stdout: r.stdout };
}

const dir = mkdtempSync(join(tmpdir(), 'vsdlab-fid-cli-'));
try {
  const pa = join(dir, 'a.npz');
  const pb = join(dir, 'b.npz');
  await writeStatsNpz(pa, statistics(1, 0));
  await writeStatsNpz(pb, statistics(7, 0.05));
  const a = readStatsNpz(pa);
  const b = readStatsNpz(pb);
  console.log(`vsdlab fid on ${DIMS}-d statistics (.npz, ${((8 * DIMS * DIMS) / 1e6).toFixed(0)} MB each); Fréchet backend: ${frechetBackend().backend}; ${ROUNDS} rounds, wall / CPU s`);
  const cli: Timing[] = [];
  const base: Timing[] = [];
  const math: Timing[] = [];
  const py: Timing[] = [];
  const pyFormula: Timing[] = [];
  let values: { cli?: number; math?: number; py?: number } = {};
  for (let r = 0; r < ROUNDS; r++) {
    const c = timed(process.execPath, ['bin/vsdlab.js', 'fid', pa, pb]);
    cli.push(c.timing);
    values.cli = Number(/FID:\s+(\S+)/.exec(c.stdout)?.[1]);
    if (BASELINE) base.push(timed(process.execPath, [join(BASELINE, 'bin', 'vsdlab.js'), 'fid', pa, pb]).timing);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    values.math = frechetDistance(a, b).distance;
    const used = process.cpuUsage(c0);
    math.push([(performance.now() - t0) / 1000, (used.user + used.system) / 1e6]);
    if (!PYTHON) continue;
    const p = timed('/usr/bin/python3', ['-c', PY, pa, pb]);
    py.push(p.timing);
    const out = JSON.parse(p.stdout) as { fid: number; formula: Timing };
    pyFormula.push(out.formula);
    values = { ...values, py: out.fid };
  }
  const best = (xs: Timing[], k: 0 | 1): number => Math.min(...xs.map((x) => x[k]));
  const show = (xs: Timing[]): string => `${best(xs, 0).toFixed(2)} / ${best(xs, 1).toFixed(2)}  [${xs.map((x) => `${x[0].toFixed(2)}/${x[1].toFixed(2)}`).join(', ')}]`;
  console.log(`vsdlab fid, whole process            ${show(cli)}   FID ${values.cli}`);
  console.log(`  Fréchet math alone (in memory)     ${show(math)}   FID ${values.math}`);
  if (BASELINE) console.log(`baseline ${BASELINE}, whole process  ${show(base)}`);
  if (PYTHON) console.log(`python pytorch-fid formula, process  ${show(py)}   FID ${values.py}`);
  if (PYTHON) console.log(`  scipy sqrtm formula alone          ${show(pyFormula)}`);
  console.log(`whole process / math alone: ${(best(cli, 0) / best(math, 0)).toFixed(2)}x wall, ${(best(cli, 1) / best(math, 1)).toFixed(2)}x CPU (best of each)`);
  if (BASELINE) console.log(`baseline whole process / math alone: ${(best(base, 0) / best(math, 0)).toFixed(2)}x wall, ${(best(base, 1) / best(math, 1)).toFixed(2)}x CPU`);
  if (PYTHON) console.log(`python process / vsdlab fid process: ${(best(py, 0) / best(cli, 0)).toFixed(1)}x wall, ${(best(py, 1) / best(cli, 1)).toFixed(1)}x CPU`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
