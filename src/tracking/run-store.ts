import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readJsonIfExists, writeJsonAtomically } from '../util/atomic-write.js';
import type { Cell } from '../plan/plan.js';
import type { StageName } from './stage.js';

export type RunState = 'pending' | 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunStatus {
  state: RunState;
  stage: StageName | null;
  progress: { done: number; total: number } | null;
  heartbeat: string;
  started: string | null;
  ended: string | null;
  attempts: number;
  pid: number;
  host: string;
  error: { code: string; message: string; stage: StageName | null } | null;
}

export interface StageRecord {
  key: string;
  dir: string;
  cached: boolean;
  seconds: number;
  result: Record<string, unknown>;
}

/**
 * The run store: `<root>/<experiment>/<slug>-<id8>/` per cell, `<root>/.cache/<stage>/<key>/` per stage output.
 * One folder per run, never a shared database: concurrent runners cannot corrupt each other's files.
 */
export class RunStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  runDir(experiment: string, cell: Pick<Cell, 'name'>): string {
    return join(this.root, experiment, cell.name);
  }

  experimentDir(experiment: string): string {
    return join(this.root, experiment);
  }

  stageDir(stage: StageName, key: string): string {
    return join(this.root, '.cache', stage, key);
  }

  stageWorkDir(stage: StageName, key: string): string {
    return `${this.stageDir(stage, key)}.work`;
  }

  stageLockPath(stage: StageName, key: string): string {
    return `${this.stageDir(stage, key)}.lock`;
  }

  cellLockPath(runDir: string): string {
    return join(runDir, 'run.lock');
  }

  readStatus(runDir: string): RunStatus | undefined {
    return readJsonIfExists<RunStatus>(join(runDir, 'status.json'));
  }

  writeStatus(runDir: string, status: RunStatus): Promise<void> {
    return writeJsonAtomically(join(runDir, 'status.json'), status);
  }

  readStages(runDir: string): Partial<Record<StageName, StageRecord>> {
    return readJsonIfExists(join(runDir, 'stages.json')) ?? {};
  }

  async recordStage(runDir: string, stage: StageName, record: StageRecord): Promise<void> {
    const stages = { ...this.readStages(runDir), [stage]: record };
    await writeJsonAtomically(join(runDir, 'stages.json'), stages);
    const link = join(runDir, 'artifacts', stage);
    mkdirSync(join(runDir, 'artifacts'), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(relative(join(runDir, 'artifacts'), record.dir), link);
  }

  /** Cell folders of an experiment that exist on disk (also cells no longer in the plan). */
  listRunDirs(experiment: string): string[] {
    const dir = this.experimentDir(experiment);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name));
  }
}
