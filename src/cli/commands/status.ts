import type { Argv } from 'yargs';
import { planExperiment } from '../../plan/plan.js';
import { experimentStatus, type CellStatusRow } from '../../tracking/status.js';
import { allowOutsideWorkspace, allowOutsideWorkspaceOption, hashProgress, jsonOption, openStore, parseOverrides, setOption, storeOption } from '../options.js';
import { textTable } from '../table.js';
import type { Io } from '../io.js';

export const command = 'status <file>';
export const describe = "each cell's state, progress and last heartbeat; stale runs (process gone) are marked";

export const builder = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, description: 'experiment YAML file' })
    .option('set', setOption)
    .option('store', storeOption)
    .option('allow-outside-workspace', allowOutsideWorkspaceOption)
    .option('json', jsonOption);

export async function handler(args: { file: string; set?: string[]; store?: string; json: boolean; allowOutsideWorkspace?: boolean }, io: Io): Promise<number> {
  const plan = await planExperiment(args.file, { overrides: parseOverrides(args.set), hashProgress: hashProgress(args.json), allowOutsideWorkspace: allowOutsideWorkspace(args.allowOutsideWorkspace) });
  const rows = experimentStatus(plan, openStore(args.store));
  if (args.json) {
    io.out(JSON.stringify({ experiment: plan.experiment, cells: rows }, null, 2));
    return 0;
  }
  io.out(renderStatus(plan.experiment, rows));
  return 0;
}

function renderStatus(experiment: string, rows: readonly CellStatusRow[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const table = rows.map((r) => [
    r.name,
    r.state,
    r.stage ?? '',
    r.progress ? `${r.progress.done}/${r.progress.total}` : '',
    r.heartbeat_age_s === null ? '' : `${Math.round(r.heartbeat_age_s)}s ago`,
    r.error ?? '',
  ]);
  return [
    `${experiment}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
    '',
    textTable([['cell', 'state', 'stage', 'progress', 'heartbeat', 'error'], ...table]),
  ].join('\n');
}
