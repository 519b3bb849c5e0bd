import { isLockLive } from './lock.js';
import type { RunStore, RunState } from './run-store.js';
import type { Plan } from '../plan/plan.js';

export type DisplayState = RunState | 'stale';

export interface CellStatusRow {
  name: string;
  id: string;
  state: DisplayState;
  stage: string | null;
  progress: { done: number; total: number } | null;
  heartbeat: string | null;
  heartbeat_age_s: number | null;
  attempts: number;
  error: string | null;
  run_dir: string;
}

/** A cell says `running` but nobody holds its lock: the process died; `vsdlab run` resumes it. */
export function experimentStatus(plan: Plan, store: RunStore, now = Date.now()): CellStatusRow[] {
  return plan.cells.map((cell) => {
    const runDir = store.runDir(plan.experiment, cell);
    const status = store.readStatus(runDir);
    const live = status?.state === 'running' && isLockLive(store.cellLockPath(runDir));
    const state: DisplayState = !status ? 'pending' : status.state === 'running' && !live ? 'stale' : status.state;
    return {
      name: cell.name,
      id: cell.id,
      state,
      stage: status?.stage ?? null,
      progress: status?.progress ?? null,
      heartbeat: status?.heartbeat ?? null,
      heartbeat_age_s: status ? (now - Date.parse(status.heartbeat)) / 1000 : null,
      attempts: status?.attempts ?? 0,
      error: status?.error ? `${status.error.stage ?? ''}: ${status.error.message}` : null,
      run_dir: runDir,
    };
  });
}
