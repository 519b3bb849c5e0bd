// Kill trials (issue 18): run an experiment once uninterrupted, then, per trial, SIGKILL `vsdlab run` (and
// `vsdlab report`) at seeded random moments, re-run to completion and check that (1) the metrics and every
// artifact equal the uninterrupted run's byte for byte, (2) nothing in the store, feature cache or report is
// corrupt or left half-written, (3) no stage that had finished ran again. The moments are drawn uniformly over the
// uninterrupted run's timeline and anchored to its progress events, so they land in every stage whatever the
// machine's speed. Used by kill-trials.test.ts (short mode) and scripts/kill-trials.js (full mode).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { checkStore } from './store-check.js';

export interface KillTrialOptions {
  experiment: string;
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
  kills: number;
  /** where the kills landed: the stage the run was in (from its last event), `startup` before any, `report` */
  killsAt: Record<string, number>;
  /** kills drawn after the process had already finished (no kill happened) */
  missed: number;
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
    const inv: Invocation = { events: [], times: [], code: null, signal: null, stderr: '' };
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (!kill) return;
      timer = setTimeout(() => {
        inv.killedAfter = { event: kill.afterEvent, delayMs: kill.delayMs };
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
      inv.code = code;
      inv.signal = signal;
      if (signal !== 'SIGKILL') delete inv.killedAfter;
      resolve(inv);
    });
  });
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

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
  const timing = /(^|\/)(result|stages|status|provenance)\.json$|history\.jsonl$|errors\.log$/;
  for (const f of filesUnder(join(store, '.cache'))) {
    const rel = relative(store, f);
    if (!timing.test(rel) && !rel.includes('.work/')) out.set(rel, sha(f));
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

export async function runKillTrials(o: KillTrialOptions): Promise<KillTrialFigures> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const runArgs = (store: string): string[] => ['run', o.experiment, '--store', store, '--json'];
  const reportArgs = (store: string, out: string): string[] => ['report', o.experiment, '--store', store, '--out', out];
  const figures: KillTrialFigures = { trials: 0, kills: 0, killsAt: {}, missed: 0, differences: [], corrupt: [], leftovers: [], recomputed: [], failures: [], seconds: 0 };

  const base = join(o.workDir, 'baseline');
  const baseEnv = { VSDLAB_FEATURE_CACHE: join(base, 'features') };
  const baseRun = await invoke(o, runArgs(join(base, 'runs')), baseEnv);
  if (baseRun.code !== 0) throw new Error(`the uninterrupted run failed (exit ${baseRun.code}): ${baseRun.stderr}`);
  const tr0 = Date.now();
  const baseReport = await invoke(o, reportArgs(join(base, 'runs'), join(base, 'report')), baseEnv);
  const reportMs = Date.now() - tr0;
  if (baseReport.code !== 0) throw new Error(`the uninterrupted report failed: ${baseReport.stderr}`);
  const expected = fingerprint(join(base, 'runs'), join(base, 'report'));
  const runMs = (baseRun.times.at(-1) ?? 1000) + 200;
  log(`baseline: ${baseRun.events.length} events in ${runMs} ms, report ${reportMs} ms, ${expected.size} fingerprinted files`);

  for (let trial = 0; trial < o.trials; trial++) {
    const random = rng(o.seed * 1_000_003 + trial);
    const dir = join(o.workDir, `trial-${trial}`);
    mkdirSync(dir, { recursive: true });
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
    const kills = 1 + Math.floor(random() * (o.maxKills ?? 2));
    for (let k = 0; k < kills; k++) {
      // a moment uniform over the uninterrupted run, anchored to the last baseline event before it
      const at = random() * runMs;
      let anchor = -1;
      while (anchor + 1 < baseRun.times.length && (baseRun.times[anchor + 1] ?? Infinity) <= at) anchor++;
      const delayMs = Math.round(at - (anchor >= 0 ? (baseRun.times[anchor] ?? 0) : 0));
      // a later kill's invocation skips what is done, so its events no longer match the baseline's: time it from spawn
      const kill = k === 0 ? { afterEvent: anchor, delayMs } : { afterEvent: -1, delayMs: Math.round(at) };
      const inv = await invoke(o, runArgs(store), env, kill);
      invocations.push(inv);
      if (inv.signal === 'SIGKILL') {
        figures.kills++;
        const stage = stageOf(inv, inv.events.length - 1);
        figures.killsAt[stage] = (figures.killsAt[stage] ?? 0) + 1;
        where.push(stage);
        const mid = await checkStore(store, { finished: false });
        figures.corrupt.push(...mid.corrupt.map((c) => `trial ${trial} after kill ${k + 1}: ${c}`));
        const cache = await checkStore(env.VSDLAB_FEATURE_CACHE, { finished: false });
        figures.corrupt.push(...cache.corrupt.map((c) => `trial ${trial} after kill ${k + 1}, feature cache: ${c}`));
      } else {
        figures.missed++;
        where.push('missed');
      }
      checkPublished();
      if (inv.signal !== 'SIGKILL' && inv.code !== 0) figures.failures.push(`trial ${trial}: a run exited ${inv.code}: ${inv.stderr.trim().split('\n').at(-1)}`);
    }
    const final = await invoke(o, runArgs(store), env);
    invocations.push(final);
    checkPublished();
    if (final.code !== 0) figures.failures.push(`trial ${trial}: the re-run exited ${final.code}: ${final.stderr.trim().split('\n').at(-1)}`);

    // the report: killed at a random moment half the time, then written again
    if (random() < 0.5) {
      const inv = await invoke(o, reportArgs(store, report), env, { afterEvent: -1, delayMs: Math.round(random() * reportMs) });
      if (inv.signal === 'SIGKILL') {
        figures.kills++;
        figures.killsAt.report = (figures.killsAt.report ?? 0) + 1;
        where.push('report');
        const mid = await checkStore(report, { finished: false });
        figures.corrupt.push(...mid.corrupt.map((c) => `trial ${trial} after the report's kill: report/${c}`));
      } else figures.missed++;
    }
    const rep = await invoke(o, reportArgs(store, report), env);
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

    const actual = fingerprint(store, report);
    for (const [path, hash] of expected) if (actual.get(path) !== hash) figures.differences.push(`trial ${trial}: ${path} ${actual.has(path) ? 'differs' : 'is missing'}`);
    for (const path of actual.keys()) if (!expected.has(path)) figures.differences.push(`trial ${trial}: ${path} is extra`);
    for (const [label, root] of [['', store], ['feature cache: ', env.VSDLAB_FEATURE_CACHE], ['report: ', report]] as const) {
      const p = await checkStore(root, { finished: true });
      figures.corrupt.push(...p.corrupt.map((c) => `trial ${trial}: ${label}${c}`));
      figures.leftovers.push(...p.leftovers.map((c) => `trial ${trial}: ${label}${c}`));
    }
    figures.trials++;
    log(`trial ${trial + 1}/${o.trials}: killed in ${where.join(', ')}; ${figures.differences.length} differences, ${figures.corrupt.length} corrupt, ${figures.recomputed.length} recomputed so far`);
  }
  figures.seconds = (Date.now() - t0) / 1000;
  return figures;
}
