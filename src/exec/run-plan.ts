import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Cell, Plan } from '../plan/plan.js';
import { longestFirst, type CostedStage } from '../plan/cell-cost.js';
import { BadInputError, ConflictError, VsdlabError } from '../errors.js';
import { readJsonIfExists, publishDir, removeTornWrites, sweepStaleTempFiles, writeJsonAtomically } from '../util/atomic-write.js';
import { lockTimings, tryLock, waitForLock, type Lock } from '../tracking/lock.js';
import { collectProvenance } from '../tracking/provenance.js';
import { RunStore, type RunStatus } from '../tracking/run-store.js';
import type { Stage, StageContext, StageName, StageOutput } from '../tracking/stage.js';
import { stageKey } from '../tracking/stage-key.js';
import { metricsFileSchema } from '../tracking/results.js';
import type { CellSummary, Reporter } from './reporter.js';
import { startStageProfile } from './stage-profile.js';

export interface RunOptions {
  store: RunStore;
  stages: readonly Stage[];
  reporter?: Reporter;
  /** run only cells whose slug or name is listed */
  only?: readonly string[];
  /** re-run completed cells and their stages instead of using the cache */
  force?: boolean;
  signal?: AbortSignal;
  /** default: lockTimings() (VSDLAB_LOCK_STALE_MS) */
  heartbeatMs?: number;
  staleMs?: number;
  /** stop after running this many cells (cached and skipped ones not counted): a pool worker's lifetime */
  maxCells?: number;
  /** a pool's start (ISO time): a cell that failed since then is not retried, or failing cells would fill every replacement worker's share */
  failedSince?: string;
  /** where stages run their shard processes (StageContext.runShards); default: local worker processes */
  runShards?: StageContext['runShards'];
}

/**
 * Runs every cell of the plan that is not complete: completed cells are skipped, interrupted ones resume
 * from their stages' work folders, failed ones are retried. A cell another runner holds is left to it.
 */
export async function runPlan(plan: Plan, given: RunOptions): Promise<CellSummary[]> {
  const timings = lockTimings();
  const options = { ...given, staleMs: given.staleMs ?? timings.staleMs, heartbeatMs: given.heartbeatMs ?? Math.min(timings.heartbeatMs, given.staleMs ? given.staleMs / 4 : Infinity) };
  const { store, reporter = {} } = options;
  const cells = selectCells(plan, options.only);
  await writeManifest(plan, store);
  reporter.onRunStart?.(plan, cells);
  const summaries: CellSummary[] = [];
  let ran = 0;
  // longest first (plan/cell-cost.ts): the pool's workers all walk this order and the cell locks share it out, so the
  // last cells to start are the short ones and no core idles at the end while another runs a long cell
  for (const cell of longestFirst(cells, (c) => storedStages(plan, c, options))) {
    if (options.signal?.aborted || ran === options.maxCells) break;
    const summary = await runCell(plan, cell, options);
    summaries.push(summary);
    if (summary.outcome === 'completed' || (summary.outcome === 'failed' && !summary.notRetried)) ran++;
    reporter.onCellEnd?.(summary);
  }
  // reported in the plan's order, as the plan lists them
  const planOrder = new Map(cells.map((c, i) => [c.name, i]));
  summaries.sort((a, b) => planOrder.get(a.cell.name)! - planOrder.get(b.cell.name)!);
  reporter.onRunEnd?.(summaries);
  return summaries;
}

/** the stages of a cell whose output is already stored (a completed cell: all of them); none with --force */
function storedStages(plan: Plan, cell: Cell, options: RunOptions): Set<CostedStage> {
  const stored = new Set<CostedStage>();
  if (options.force) return stored;
  const completed = options.store.readStatus(options.store.runDir(plan.experiment, cell))?.state === 'completed';
  const keys: string[] = [];
  for (const stage of options.stages) {
    const key = stageKey(stage, cell, keys);
    keys.push(key);
    if (completed || existsSync(join(options.store.stageDir(stage.name, key), 'result.json'))) stored.add(stage.name);
  }
  return stored;
}

/** The plan's cells as the store knows them: lets `status` and reports find cells without the YAML. */
export async function writeManifest(plan: Plan, store: RunStore): Promise<void> {
  await writeJsonAtomically(join(store.experimentDir(plan.experiment), 'manifest.json'), {
    experiment: plan.experiment,
    file: plan.file,
    varying_keys: plan.varyingKeys,
    cells: plan.cells.map((c) => ({ name: c.name, id: c.id, slug: c.slug, varying: c.varying })),
  });
}

/** The cells `--only` names (all when it names none); an unknown name is a usage error. */
export function selectCells(plan: Plan, only: readonly string[] | undefined): Cell[] {
  if (!only || only.length === 0) return plan.cells;
  const unknown = only.filter((o) => !plan.cells.some((c) => c.slug === o || c.name === o));
  if (unknown.length > 0) {
    throw new BadInputError('RUN_UNKNOWN_CELL', `--only ${unknown.join(', ')}: no such cell in ${plan.experiment} (cells: ${plan.cells.map((c) => c.slug).join(', ')})`);
  }
  return plan.cells.filter((c) => only.includes(c.slug) || only.includes(c.name));
}

async function runCell(plan: Plan, cell: Cell, options: RunOptions): Promise<CellSummary> {
  const { store, reporter = {} } = options;
  const runDir = store.runDir(plan.experiment, cell);
  const t0 = Date.now();
  const previous = store.readStatus(runDir);
  if (previous?.state === 'completed' && !options.force) {
    return { cell, outcome: 'cached', runDir, seconds: 0 };
  }
  mkdirSync(runDir, { recursive: true });
  const lock = tryLock(store.cellLockPath(runDir), { staleMs: options.staleMs });
  if (!lock) return { cell, outcome: 'skipped-running-elsewhere', runDir, seconds: 0 };
  // another runner may have finished the cell between our first look and taking the lock
  const now = store.readStatus(runDir);
  if (!options.force && now?.state === 'completed') {
    lock.release();
    return { cell, outcome: 'cached', runDir, seconds: 0 };
  }
  if (options.failedSince !== undefined && now?.state === 'failed' && now.ended !== null && now.ended >= options.failedSince) {
    lock.release();
    return { cell, outcome: 'failed', runDir, seconds: 0, notRetried: true, ...(now.error ? { error: now.error.message } : {}) };
  }
  // a runner killed mid-write left its temp file beside status.json or stages.json (found by the kill trials); the
  // folder is ours under the cell lock, but a fenced-off predecessor may still live, so only dead writers' files go
  sweepStaleTempFiles(runDir);

  const status: RunStatus = {
    state: 'running',
    stage: null,
    progress: null,
    heartbeat: new Date().toISOString(),
    started: new Date().toISOString(),
    ended: null,
    attempts: (previous?.attempts ?? 0) + 1,
    pid: process.pid,
    host: hostname(),
    error: null,
  };
  // fencing: a runner paused past the lock's lapse (SIGSTOP, a frozen node) finds its lock taken over when it wakes,
  // stops its stage and commits nothing, so it never writes over the runner that took the cell over
  const lost = new AbortController();
  const beat = heartbeat(store, runDir, status, lock, options.heartbeatMs ?? 5000, lost);
  const signal = options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal;
  try {
    await writeJsonAtomically(join(runDir, 'config.json'), {
      experiment: plan.experiment,
      id: cell.id,
      slug: cell.slug,
      varying: cell.varying,
      assets: cell.assets,
      config: cell.config,
    });
    await writeJsonAtomically(join(runDir, 'provenance.json'), { ...collectProvenance(), seed: cell.config.seed, started: status.started });
    await store.writeStatus(runDir, status);
    reporter.onCellStart?.(cell, runDir, status.attempts);

    const upstream: Partial<Record<StageName, StageOutput>> = {};
    const keys: string[] = [];
    for (const stage of options.stages) {
      const key = stageKey(stage, cell, keys);
      status.stage = stage.name;
      status.progress = null;
      const output = await runStage(stage, key, cell, runDir, upstream, status, { ...options, signal }, lock);
      upstream[stage.name] = output;
      keys.push(key);
    }
    const last = options.stages.at(-1);
    const metrics = last ? upstream[last.name]?.result.metrics : undefined;
    lock.assertHeld(`cell ${cell.name}`);
    if (metrics !== undefined) await writeJsonAtomically(join(runDir, 'metrics.json'), metricsFileSchema.parse({ metrics }));
    Object.assign(status, { state: 'completed', stage: null, ended: new Date().toISOString() });
    await store.writeStatus(runDir, status);
    return { cell, outcome: 'completed', runDir, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    if (!lock.held() || (error instanceof ConflictError && error.code === 'LOCK_LOST')) {
      // the cell's status and folder are its new runner's now
      beat.stop();
      return { cell, outcome: 'skipped-running-elsewhere', runDir, seconds: (Date.now() - t0) / 1000, error: error.message };
    }
    const interrupted = options.signal?.aborted === true;
    Object.assign(status, {
      state: interrupted ? 'interrupted' : 'failed',
      ended: new Date().toISOString(),
      error: { code: error instanceof VsdlabError ? error.code : 'STAGE_FAILED', message: error.message, stage: status.stage },
    });
    try {
      await store.writeStatus(runDir, status);
      appendFileSync(join(runDir, 'errors.log'), `${status.ended} [${status.stage ?? '-'}] ${error.stack ?? error.message}\n`);
    } catch {
      // the disk that failed the cell may refuse its record too: the outcome below still reports it, the re-run retries
    }
    return { cell, outcome: interrupted ? 'interrupted' : 'failed', runDir, seconds: (Date.now() - t0) / 1000, error: error.message };
  } finally {
    beat.stop();
    lock.release();
  }
}

async function runStage(
  stage: Stage,
  key: string,
  cell: Cell,
  runDir: string,
  upstream: Partial<Record<StageName, StageOutput>>,
  status: RunStatus,
  options: RunOptions,
  cellLock: Lock,
): Promise<StageOutput> {
  const { store, reporter = {} } = options;
  const dir = store.stageDir(stage.name, key);
  const cachedResult = (): Record<string, unknown> | undefined =>
    options.force ? undefined : readJsonIfExists<Record<string, unknown>>(join(dir, 'result.json'));
  const t0 = Date.now();
  const finish = async (result: Record<string, unknown>, cached: boolean): Promise<StageOutput> => {
    const seconds = (Date.now() - t0) / 1000;
    cellLock.assertHeld(`cell ${cell.name}`);
    await store.recordStage(runDir, stage.name, { key, dir, cached, seconds, result });
    reporter.onStageEnd?.(cell, stage.name, seconds, cached);
    return { stage: stage.name, key, dir, result };
  };

  const hit = cachedResult();
  if (hit) {
    reporter.onStageStart?.(cell, stage.name, true);
    return finish(hit, true);
  }
  // another cell may share this stage (same inputs): wait for it rather than compute twice
  const lock = await waitForLock(store.stageLockPath(stage.name, key), { staleMs: options.staleMs, signal: options.signal });
  try {
    const hitAfterWait = cachedResult();
    if (hitAfterWait) {
      reporter.onStageStart?.(cell, stage.name, true);
      return finish(hitAfterWait, true);
    }
    reporter.onStageStart?.(cell, stage.name, false);
    const workDir = store.stageWorkDir(stage.name, key);
    if (options.force) rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    // a stage resumed after a kill: what the killed attempt was writing is not kept (found by the kill trials)
    removeTornWrites(workDir);
    const lost = new AbortController();
    const touch = setInterval(() => {
      if (!lock.touch()) lost.abort(lostError(lock, `stage ${stage.name} ${key}`));
    }, Math.max(50, (options.heartbeatMs ?? 5000) / 2));
    touch.unref();
    let result: Record<string, unknown>;
    const profile = await startStageProfile(runDir, stage.name);
    try {
      result = await stage.run({
        cell,
        workDir,
        upstream,
        signal: options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal,
        log: (entry) => appendFileSync(join(workDir, 'history.jsonl'), `${JSON.stringify({ time: Date.now() / 1000, ...entry })}\n`),
        progress: (done, total) => {
          status.progress = { done, total };
          reporter.onProgress?.(cell, stage.name, done, total);
        },
        ...(options.runShards ? { runShards: options.runShards } : {}),
      });
    } finally {
      clearInterval(touch);
    }
    await profile?.finish();
    // fencing: a stage lock taken over while this runner was paused belongs to a runner using the same work folder
    lock.assertHeld(`stage ${stage.name} ${key}`);
    await writeJsonAtomically(join(workDir, 'result.json'), result);
    lock.assertHeld(`stage ${stage.name} ${key}`);
    publishDir(workDir, dir);
    return finish(result, false);
  } finally {
    lock.release();
  }
}

const lostError = (lock: Lock, what: string): ConflictError => {
  try {
    lock.assertHeld(what);
  } catch (e) {
    return e as ConflictError;
  }
  return new ConflictError('LOCK_LOST', `${lock.path}: lost ${what}`);
};

/** Refreshes the status heartbeat and the cell lock while the cell runs; aborts `lost` once the lock was taken over. */
function heartbeat(store: RunStore, runDir: string, status: RunStatus, lock: Lock, everyMs: number, lost: AbortController): { stop(): void } {
  let writing = false;
  const timer = setInterval(() => {
    if (!lock.touch()) {
      clearInterval(timer);
      lost.abort(lostError(lock, `cell ${runDir}`));
      return;
    }
    if (writing) return;
    writing = true;
    status.heartbeat = new Date().toISOString();
    store
      .writeStatus(runDir, status)
      .catch(() => {}) // a heartbeat that cannot be written (a full disk) is retried by the next; the cell's own writes report it
      .finally(() => (writing = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
