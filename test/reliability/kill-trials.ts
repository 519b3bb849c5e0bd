// Kill trials (issue 18): run each target once uninterrupted, then, per trial, SIGKILL it at seeded random moments,
// re-run to completion and check that (1) what it computes equals the uninterrupted run's byte for byte, (2) nothing
// it writes is corrupt or left behind (temp files, locks, `.work` folders), (3) nothing that had finished ran again.
// Targets: `study` (`vsdlab run` of an experiment, then `vsdlab report`, also killed), `sharded` (the same with the
// evaluation in 2 worker processes, which a kill of the runner leaves orphaned) and `prepare` (`vsdlab datasets
// prepare coco2014` of a mini COCO-2014 val, in blocks). Trial i runs target i mod the number of targets. The moments
// are drawn uniformly over the uninterrupted run's timeline and anchored to its progress events, so they land in
// every stage whatever the machine's speed. Used by kill-trials.test.ts (short mode) and scripts/kill-trials.js.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { checkStore } from './store-check.js';
import { writeMiniCoco } from '../helpers/mini-coco.js';

export type KillTarget = 'study' | 'sharded' | 'prepare';
export const KILL_TARGETS: readonly KillTarget[] = ['study', 'sharded', 'prepare'];

export interface KillTrialOptions {
  /** the experiment of the `study` target */
  experiment: string;
  /** the experiment of the `sharded` target (evaluate.shards > 1) */
  shardedExperiment?: string;
  /** default ['study'] */
  targets?: readonly KillTarget[];
  /** an empty folder for the baseline and the trials */
  workDir: string;
  trials: number;
  seed: number;
  /** kills of `vsdlab run` per trial, drawn in [1, maxKills] */
  maxKills?: number;
  /** the repository root (bin/vsdlab.js is run from there) */
  root: string;
  log?: (line: string) => void;
}

export interface KillTrialFigures {
  trials: number;
  /** trials per target */
  trialsOf: Record<string, number>;
  kills: number;
  /** where the kills landed: the stage the run was in (from its last event), `startup` before any, `report` */
  killsAt: Record<string, number>;
  /** kills drawn after the process had already finished (no kill happened) */
  missed: number;
  /** worker processes of a killed runner still alive when the re-run started (orphans: they finish or fail alone) */
  orphans: number;
  differences: string[];
  corrupt: string[];
  leftovers: string[];
  recomputed: string[];
  failures: string[];
  seconds: number;
}

interface Event {
  event: string;
  cell?: string;
  stage?: string;
  cached?: boolean;
}

interface Invocation {
  events: Event[];
  /** ms after spawn at which each event arrived */
  times: number[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  killedAfter?: { event: number; delayMs: number };
  /** ms from spawn to exit */
  ms: number;
  /** the children the process had when it was killed (workers it could not stop) */
  orphans: number[];
}

/** mulberry32: a small seeded generator, so a trial's kill moments replay from its seed */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function invoke(o: KillTrialOptions, args: string[], env: Record<string, string>, kill?: { afterEvent: number; delayMs: number }): Promise<Invocation> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(o.root, 'bin', 'vsdlab.js'), ...args], { cwd: o.root, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const inv: Invocation = { events: [], times: [], code: null, signal: null, stderr: '', ms: 0, orphans: [] };
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (!kill) return;
      timer = setTimeout(() => {
        inv.killedAfter = { event: kill.afterEvent, delayMs: kill.delayMs };
        if (child.pid !== undefined) inv.orphans = childrenOf(child.pid);
        child.kill('SIGKILL');
      }, kill.delayMs);
    };
    if (kill && kill.afterEvent < 0) arm();
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        return; // `vsdlab report` prints paths, not events
      }
      inv.events.push(event);
      inv.times.push(Date.now() - t0);
      if (kill && inv.events.length - 1 === kill.afterEvent) arm();
    });
    child.stderr.on('data', (d: Buffer) => (inv.stderr += d.toString()));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      inv.ms = Date.now() - t0;
      inv.code = code;
      inv.signal = signal;
      if (signal !== 'SIGKILL') delete inv.killedAfter;
      resolve(inv);
    });
  });
}

/**
 * sha256 of a file; in a JSON file the trial's own folder (which a shard spec names: the images, the feature cache)
 * counts as one placeholder, so equal records of runs in different folders compare equal
 */
const sha = (path: string, root?: string): string => {
  const bytes = readFileSync(path);
  const text = root !== undefined && path.endsWith('.json') ? bytes.toString('utf8').replaceAll(root, '<trial>') : bytes;
  return createHash('sha256').update(text).digest('hex');
};

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * What must not depend on interruptions: each cell's metrics.json, every stage artifact that is not a timing
 * record (weights, checkpoints, images, samples.json, student.json), and the report's tables.
 */
function fingerprint(store: string, report: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = dirname(store);
  const timing = /(^|\/)(result|stages|status|provenance)\.json$|history\.jsonl$|errors\.log$/;
  for (const f of filesUnder(join(store, '.cache'))) {
    const rel = relative(store, f);
    if (!timing.test(rel) && !rel.includes('.work/')) out.set(rel, sha(f, root));
  }
  for (const f of filesUnder(store).filter((p) => p.endsWith('metrics.json'))) out.set(relative(store, f), sha(f));
  for (const name of ['results.csv', 'summary.csv', 'table.md', 'table.tex']) {
    const f = join(report, name);
    out.set(`report/${name}`, existsSync(f) ? sha(f) : 'absent');
  }
  return out;
}

/** inode of each published stage result: a stage that runs again publishes a new folder, with a new inode */
function published(store: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of filesUnder(join(store, '.cache')).filter((p) => p.endsWith('/result.json') && !p.includes('.work/'))) out.set(relative(store, f), statSync(f).ino);
  return out;
}

const stageOf = (inv: Invocation, upTo: number): string => {
  for (let i = upTo; i >= 0; i--) {
    const e = inv.events[i];
    if (e?.stage) return e.stage;
    if (e?.event === 'cell-end' || e?.event === 'run-start' || e?.event === 'cell-start') return 'between-stages';
  }
  return 'startup';
};

/** pids of the live processes whose parent is `pid` (from /proc; empty where there is none) */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Baseline {
  inv: Invocation;
  ms: number;
  expected: Map<string, string>;
  reportMs: number;
}

export async function runKillTrials(o: KillTrialOptions): Promise<KillTrialFigures> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const targets = o.targets ?? ['study'];
  const figures: KillTrialFigures = { trials: 0, trialsOf: {}, kills: 0, killsAt: {}, missed: 0, orphans: 0, differences: [], corrupt: [], leftovers: [], recomputed: [], failures: [], seconds: 0 };
  const baselines = new Map<KillTarget, Baseline>();
  let coco: { annotations: string; images: string } | undefined;

  const experimentOf = (t: KillTarget): string => (t === 'sharded' ? (o.shardedExperiment ?? 'test/fixtures/reliability/tiny-sharded.yaml') : o.experiment);
  const runArgs = (t: KillTarget, store: string): string[] => ['run', experimentOf(t), '--store', store, '--json'];
  const reportArgs = (t: KillTarget, store: string, out: string): string[] => ['report', experimentOf(t), '--store', store, '--out', out];
  // blocks of 4 images: a kill lands inside one block and the re-run redoes that block only
  const prepareArgs = (out: string): string[] => [
    'datasets', 'prepare', 'coco2014', '--annotations', coco!.annotations, '--images', coco!.images, '--out', out,
    '--inception', 'models/embedded/perception.onnx', '--resize', 'center-crop-lanczos-256', '--modes', 'clean', '--caption-count', '12', '--block-size', '4', '--threads', '1',
  ];

  const baselineOf = async (t: KillTarget): Promise<Baseline> => {
    const had = baselines.get(t);
    if (had) return had;
    const base = join(o.workDir, `baseline-${t}`);
    let b: Baseline;
    if (t === 'prepare') {
      coco ??= await writeMiniCoco(join(o.workDir, 'mini-coco'));
      const inv = await invoke(o, prepareArgs(join(base, 'prepared')), {});
      if (inv.code !== 0) throw new Error(`the uninterrupted prepare failed (exit ${inv.code}): ${inv.stderr}`);
      b = { inv, ms: inv.ms + 200, expected: prepareFingerprint(join(base, 'prepared')), reportMs: 0 };
    } else {
      const env = { VSDLAB_FEATURE_CACHE: join(base, 'features') };
      const inv = await invoke(o, runArgs(t, join(base, 'runs')), env);
      if (inv.code !== 0) throw new Error(`the uninterrupted run of ${experimentOf(t)} failed (exit ${inv.code}): ${inv.stderr}`);
      const report = await invoke(o, reportArgs(t, join(base, 'runs'), join(base, 'report')), env);
      if (report.code !== 0) throw new Error(`the uninterrupted report failed: ${report.stderr}`);
      b = { inv, ms: (inv.times.at(-1) ?? 1000) + 200, expected: fingerprint(join(base, 'runs'), join(base, 'report')), reportMs: report.ms };
    }
    log(`baseline ${t}: ${b.inv.events.length} events in ${b.ms} ms${t === 'prepare' ? '' : `, report ${b.reportMs} ms`}, ${b.expected.size} fingerprinted files`);
    baselines.set(t, b);
    return b;
  };

  for (let trial = 0; trial < o.trials; trial++) {
    const target = targets[trial % targets.length]!;
    const baseline = await baselineOf(target);
    const random = rng(o.seed * 1_000_003 + trial);
    const dir = join(o.workDir, `trial-${trial}`);
    mkdirSync(dir, { recursive: true });
    const where = target === 'prepare' ? await prepareTrial(trial, dir, baseline, random) : await studyTrial(target, trial, dir, baseline, random);
    figures.trials++;
    figures.trialsOf[target] = (figures.trialsOf[target] ?? 0) + 1;
    log(`trial ${trial + 1}/${o.trials} (${target}): killed in ${where.join(', ')}; ${figures.differences.length} differences, ${figures.corrupt.length} corrupt, ${figures.recomputed.length} recomputed, ${figures.leftovers.length} leftovers so far`);
  }
  figures.seconds = (Date.now() - t0) / 1000;
  return figures;

  /** a kill's invocation: counted, and the orphans it leaves waited for (the re-run must cope with them running) */
  async function killed(inv: Invocation, at: string, where: string[]): Promise<boolean> {
    if (inv.signal !== 'SIGKILL') {
      figures.missed++;
      where.push('missed');
      return false;
    }
    figures.kills++;
    figures.killsAt[at] = (figures.killsAt[at] ?? 0) + 1;
    where.push(at);
    if (inv.orphans.some(alive)) figures.orphans++;
    return true;
  }

  async function studyTrial(target: KillTarget, trial: number, dir: string, baseline: Baseline, random: () => number): Promise<string[]> {
    const store = join(dir, 'runs');
    const report = join(dir, 'report');
    const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
    const invocations: Invocation[] = [];
    const finishedInodes = new Map<string, number>();
    const where: string[] = [];
    const checkPublished = (): void => {
      for (const [path, ino] of published(store)) {
        const before = finishedInodes.get(path);
        if (before !== undefined && before !== ino) figures.recomputed.push(`trial ${trial}: ${path} was published again`);
        finishedInodes.set(path, ino);
      }
    };
    const baseRun = baseline.inv;
    const kills = 1 + Math.floor(random() * (o.maxKills ?? 2));
    for (let k = 0; k < kills; k++) {
      // a moment uniform over the uninterrupted run, anchored to the last baseline event before it
      const at = random() * baseline.ms;
      let anchor = -1;
      while (anchor + 1 < baseRun.times.length && (baseRun.times[anchor + 1] ?? Infinity) <= at) anchor++;
      const delayMs = Math.round(at - (anchor >= 0 ? (baseRun.times[anchor] ?? 0) : 0));
      // a later kill's invocation skips what is done, so its events no longer match the baseline's: time it from spawn
      const kill = k === 0 ? { afterEvent: anchor, delayMs } : { afterEvent: -1, delayMs: Math.round(at) };
      const inv = await invoke(o, runArgs(target, store), env, kill);
      invocations.push(inv);
      if (await killed(inv, stageOf(inv, inv.events.length - 1), where)) {
        const mid = await checkStore(store, { finished: false });
        figures.corrupt.push(...mid.corrupt.map((c) => `trial ${trial} after kill ${k + 1}: ${c}`));
        const cache = await checkStore(env.VSDLAB_FEATURE_CACHE, { finished: false });
        figures.corrupt.push(...cache.corrupt.map((c) => `trial ${trial} after kill ${k + 1}, feature cache: ${c}`));
      }
      checkPublished();
      if (inv.signal !== 'SIGKILL' && inv.code !== 0) figures.failures.push(`trial ${trial}: a run exited ${inv.code}: ${inv.stderr.trim().split('\n').at(-1)}`);
    }
    const final = await invoke(o, runArgs(target, store), env);
    invocations.push(final);
    checkPublished();
    if (final.code !== 0) figures.failures.push(`trial ${trial}: the re-run exited ${final.code}: ${final.stderr.trim().split('\n').at(-1)}`);
    // orphaned workers of a killed runner may outlive the re-run: the store is judged once they are gone
    await waitFor(invocations.flatMap((i) => i.orphans));

    // the report: killed at a random moment half the time, then written again
    if (random() < 0.5) {
      const inv = await invoke(o, reportArgs(target, store, report), env, { afterEvent: -1, delayMs: Math.round(random() * baseline.reportMs) });
      if (await killed(inv, 'report', where)) {
        const mid = await checkStore(report, { finished: false });
        figures.corrupt.push(...mid.corrupt.map((c) => `trial ${trial} after the report's kill: report/${c}`));
      }
    }
    const rep = await invoke(o, reportArgs(target, store, report), env);
    if (rep.code !== 0) figures.failures.push(`trial ${trial}: the report exited ${rep.code}: ${rep.stderr.trim().split('\n').at(-1)}`);

    // a (cell, stage) that finished in one invocation is only ever read from the cache by later ones
    const finished = new Set<string>();
    for (const [i, inv] of invocations.entries()) {
      for (const e of inv.events) {
        const id = `${e.cell} ${e.stage}`;
        if (e.event === 'stage-start' && e.cached === false && finished.has(id)) figures.recomputed.push(`trial ${trial}: ${id} ran again in invocation ${i + 1}`);
      }
      for (const e of inv.events) if (e.event === 'stage-end' && e.cached === false) finished.add(`${e.cell} ${e.stage}`);
    }

    compare(trial, baseline.expected, fingerprint(store, report));
    await readBack(trial, [['', store], ['feature cache: ', env.VSDLAB_FEATURE_CACHE], ['report: ', report]]);
    return where;
  }

  async function prepareTrial(trial: number, dir: string, baseline: Baseline, random: () => number): Promise<string[]> {
    const out = join(dir, 'prepared');
    const where: string[] = [];
    const blockInodes = new Map<string, number>();
    // a finished block (its record written) is never processed again: its record keeps its inode
    const checkBlocks = (): void => {
      for (const f of filesUnder(join(out, 'work', 'blocks'))) {
        if (basename(f).startsWith('.')) continue;
        const ino = statSync(f).ino;
        const before = blockInodes.get(f);
        if (before !== undefined && before !== ino) figures.recomputed.push(`trial ${trial}: prepare block ${relative(out, f)} was written again`);
        blockInodes.set(f, ino);
      }
    };
    const kills = 1 + Math.floor(random() * (o.maxKills ?? 2));
    for (let k = 0; k < kills; k++) {
      const inv = await invoke(o, prepareArgs(out), {}, { afterEvent: -1, delayMs: Math.round(random() * baseline.ms) });
      if (await killed(inv, 'prepare', where)) {
        const mid = await checkStore(out, { finished: false });
        figures.corrupt.push(...mid.corrupt.map((c) => `trial ${trial} after kill ${k + 1}: prepared/${c}`));
      } else if (inv.code !== 0) figures.failures.push(`trial ${trial}: a prepare exited ${inv.code}: ${inv.stderr.trim().split('\n').at(-1)}`);
      checkBlocks();
    }
    const final = await invoke(o, prepareArgs(out), {});
    if (final.code !== 0) figures.failures.push(`trial ${trial}: the re-run of prepare exited ${final.code}: ${final.stderr.trim().split('\n').at(-1)}`);
    checkBlocks();
    compare(trial, baseline.expected, prepareFingerprint(out));
    await readBack(trial, [['prepared: ', out]]);
    return where;
  }

  function compare(trial: number, expected: Map<string, string>, actual: Map<string, string>): void {
    for (const [path, hash] of expected) if (actual.get(path) !== hash) figures.differences.push(`trial ${trial}: ${path} ${actual.has(path) ? 'differs' : 'is missing'}`);
    for (const path of actual.keys()) if (!expected.has(path)) figures.differences.push(`trial ${trial}: ${path} is extra`);
  }

  async function readBack(trial: number, roots: Array<readonly [string, string]>): Promise<void> {
    for (const [label, root] of roots) {
      const p = await checkStore(root, { finished: true });
      figures.corrupt.push(...p.corrupt.map((c) => `trial ${trial}: ${label}${c}`));
      figures.leftovers.push(...p.leftovers.map((c) => `trial ${trial}: ${label}${c}`));
    }
  }
}

/** every file the prepared folder holds, its work folder (block records, block features) included: all deterministic */
function prepareFingerprint(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const f of filesUnder(out)) map.set(`prepared/${relative(out, f)}`, sha(f));
  return map;
}

/** waits (up to a minute) until the given processes have exited */
async function waitFor(pids: readonly number[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
