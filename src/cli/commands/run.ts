import type { Argv } from 'yargs';
import { join, resolve } from 'node:path';
import { planExperiment, type Plan } from '../../plan/plan.js';
import { runPlan, selectCells, writeManifest } from '../../exec/run-plan.js';
import { runLocalWorkers } from '../../exec/local-workers.js';
import { submitSlurm } from '../../exec/slurm.js';
import { SHARD_EXECUTORS, shardExecutor, type ShardExecutorName, type ShardSlurmOptions } from '../../exec/shard-executor.js';
import { assertAssetsPresent } from '../../exec/missing-assets.js';
import { assertBackendsInstalled } from '../../exec/backend-packages.js';
import { parseGpuList, workersForGpus } from '../../exec/gpu-list.js';
import { defaultReporterName, reporters, type ReporterName } from '../../exec/reporters/index.js';
import type { CellSummary } from '../../exec/reporter.js';
import { packageRoot } from '../../tracking/provenance.js';
import type { RunStore } from '../../tracking/run-store.js';
import { allowOutsideWorkspace, allowOutsideWorkspaceOption, hashProgress, jsonOption, openStore, parseOverrides, setOption, storeOption } from '../options.js';
import type { Io } from '../io.js';
import { EXIT_CODES, WORKER_RECYCLE_EXIT } from '../exit-codes.js';
import { BadInputError } from '../../errors.js';

export const command = 'run <file>';
export const describe = 'run every cell that is not complete: resumes interrupted cells, retries failed ones, reuses cached stages';

export const builder = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, description: 'experiment YAML file' })
    .option('only', { type: 'string', array: true, description: 'run only these cells (slug or full name)' })
    .option('force', { type: 'boolean', default: false, description: 're-run completed cells and recompute their stages' })
    .option('set', setOption)
    .option('store', storeOption)
    .option('allow-outside-workspace', allowOutsideWorkspaceOption)
    .option('jobs', { alias: 'j', type: 'number', default: 1, description: 'local worker processes; cells are shared out by their locks' })
    .option('gpus', { type: 'string', description: 'GPU ids, e.g. 0,1,2,3: one worker per GPU, each sees only its own (CUDA_VISIBLE_DEVICES)' })
    .option('cells-per-worker', { type: 'number', default: 3, description: 'with -j: a worker process runs this many cells, then a fresh one replaces it (bounds each worker\'s memory)' })
    .option('executor', { choices: ['local', 'slurm'] as const, default: 'local' as const, description: 'where cells run' })
    // a run option, not an experiment key: where work runs is the machine's business (as --executor is), so one
    // experiment file runs on a laptop and on a cluster; generate.shards / evaluate.shards say how many
    .option('shard-executor', { choices: SHARD_EXECUTORS, default: 'pool' as const, description: 'where a cell\'s generate.shards / evaluate.shards run: local worker processes, or one Slurm array per stage (sbatch --wait, the --slurm-* options per task)' })
    .option('dry-run', { type: 'boolean', default: false, description: 'slurm: write the array script and cell list, do not submit' })
    .option('slurm-partition', { type: 'string', group: 'Slurm:' })
    .option('slurm-time', { type: 'string', group: 'Slurm:', description: 'e.g. 04:00:00' })
    .option('slurm-cpus', { type: 'number', group: 'Slurm:' })
    .option('slurm-gpus', { type: 'number', group: 'Slurm:' })
    .option('slurm-mem', { type: 'string', group: 'Slurm:', description: 'e.g. 32G' })
    .option('slurm-max-parallel', { type: 'number', group: 'Slurm:', description: 'array tasks at once (%N)' })
    .option('slurm-extra', { type: 'string', array: true, group: 'Slurm:', description: 'extra #SBATCH lines, e.g. --account=abc' })
    .option('max-cells', { type: 'number', hidden: true, description: 'a pool worker: run at most this many cells' })
    .option('failed-since', { type: 'string', hidden: true, description: 'a pool worker: the pool\'s start; cells failed since are not retried' })
    .option('skip-preflight', { type: 'boolean', default: false, hidden: true, description: 'a Slurm array task: a missing asset or backend package fails its cell (recorded in its status) instead of stopping before it' })
    .option('reporter', { choices: Object.keys(reporters) as ReporterName[], description: 'progress output (default: tty bar on a terminal, plain lines otherwise)' })
    .option('json', { ...jsonOption, description: 'NDJSON events on stdout (same as --reporter json)' })
    .check((a) => {
      if (!Number.isInteger(a.jobs) || a.jobs < 1) throw new BadInputError('USAGE', '--jobs must be a whole number ≥ 1');
      const perWorker = a['cells-per-worker'];
      if (!Number.isInteger(perWorker) || perWorker < 1) throw new BadInputError('USAGE', '--cells-per-worker must be a whole number ≥ 1');
      return true;
    })
    .example('$0 run experiments/embedded-ablation.yaml', 'run the whole ablation')
    .example('$0 run exp.yaml -j 2', 'two local worker processes')
    .example('$0 run exp.yaml --gpus 0,1,2,3', 'one worker per GPU, a cell per GPU at a time')
    .example('$0 run exp.yaml --executor slurm --slurm-gpus 1 --slurm-time 08:00:00', 'one Slurm array task per cell')
    .example('$0 run exp.yaml --set generate.shards=64 --shard-executor slurm --slurm-gpus 1', 'each cell\'s 30K images generated by a 64-task Slurm array, one GPU a task')
    .example('$0 run exp.yaml --only vsd-eps-s0 --force', 'recompute one cell');

interface RunArgs {
  file: string;
  only?: string[];
  force: boolean;
  set?: string[];
  store?: string;
  allowOutsideWorkspace?: boolean;
  jobs: number;
  gpus?: string;
  cellsPerWorker: number;
  /** set by a pool on its workers: run at most this many cells, then exit with WORKER_RECYCLE_EXIT */
  maxCells?: number;
  failedSince?: string;
  skipPreflight: boolean;
  executor: 'local' | 'slurm';
  shardExecutor: ShardExecutorName;
  dryRun: boolean;
  slurmPartition?: string;
  slurmTime?: string;
  slurmCpus?: number;
  slurmGpus?: number;
  slurmMem?: string;
  slurmMaxParallel?: number;
  slurmExtra?: string[];
  reporter?: ReporterName;
  json: boolean;
}

export async function handler(args: RunArgs, io: Io, signal: AbortSignal): Promise<number> {
  const plan = await planExperiment(args.file, { overrides: parseOverrides(args.set), hashProgress: hashProgress(args.json || args.reporter === 'json'), allowOutsideWorkspace: allowOutsideWorkspace(args.allowOutsideWorkspace) });
  const store = openStore(args.store);
  const reporter = reporters[args.json ? 'json' : (args.reporter ?? defaultReporterName())]();
  if (args.executor === 'slurm') {
    if (args.gpus !== undefined) throw new BadInputError('USAGE', '--gpus assigns local GPUs; a Slurm array task gets its GPU from Slurm', 'use --slurm-gpus 1 (each array task: --gres=gpu:1)');
    return submit(plan, store, args, io);
  }
  const gpus = args.gpus === undefined ? undefined : parseGpuList(args.gpus);
  const jobs = gpus === undefined ? args.jobs : workersForGpus(gpus, args.jobs);
  // one GPU: this process runs the cells; it sees only that GPU (set before the stages load tfjs or onnxruntime)
  if (gpus !== undefined && jobs === 1) process.env['CUDA_VISIBLE_DEVICES'] = gpus[0]!;
  // nothing starts while an asset or a named backend's package is missing. A pool's workers start after their
  // coordinator checked; a Slurm array task records either as its cell's failure, where `vsdlab status` shows it
  // (the login node that submitted may not mount or install what the compute nodes do, so submission does not check)
  if (args.maxCells === undefined && !args.skipPreflight) {
    assertBackendsInstalled(selectCells(plan, args.only));
    assertAssetsPresent(plan.experiment, selectCells(plan, args.only));
  }
  let summaries: CellSummary[];
  if (jobs > 1) {
    const command = [join(packageRoot, 'bin', 'vsdlab.js'), ...baseArgv(args, store)];
    summaries = await runLocalWorkers(plan, store, { command, recycleExitCode: WORKER_RECYCLE_EXIT, jobs, ...(gpus ? { gpus } : {}), cellsPerWorker: args.cellsPerWorker, force: args.force, ...(args.only ? { only: args.only } : {}), reporter, signal });
  } else {
    // the stages load tfjs and onnxruntime (~65 MB): only the process that runs cells imports them, not a pool's coordinator
    const { defaultStages } = await import('../../stages/index.js');
    const runShards = shardExecutor(args.shardExecutor, slurmOptions(args));
    summaries = await runPlan(plan, { store, stages: defaultStages(), reporter, force: args.force, signal, ...(runShards ? { runShards } : {}), ...(args.only ? { only: args.only } : {}), ...(args.maxCells ? { maxCells: args.maxCells } : {}), ...(args.failedSince ? { failedSince: args.failedSince } : {}) });
    const left = selectCells(plan, args.only).length - summaries.length;
    if (args.maxCells !== undefined && left > 0 && !signal.aborted) return WORKER_RECYCLE_EXIT;
  }
  if (summaries.some((s) => s.outcome === 'interrupted') || signal.aborted) return EXIT_CODES.interrupted;
  return summaries.some((s) => s.outcome === 'failed') ? EXIT_CODES.failure : 0;
}

/** `run FILE --store ABS --set ...`: what every worker or array task repeats, the workspace choice included. */
const baseArgv = (args: RunArgs, store: RunStore): string[] => [
  'run',
  resolve(args.file),
  '--store',
  store.root,
  ...(args.set ?? []).flatMap((s) => ['--set', s]),
  ...(allowOutsideWorkspace(args.allowOutsideWorkspace) ? ['--allow-outside-workspace'] : []),
  ...shardArgv(args),
];

/** the #SBATCH settings named by --slurm-*: of the cells' array, and of every shard array */
const slurmOptions = (args: RunArgs): ShardSlurmOptions => ({
  ...(args.slurmPartition ? { partition: args.slurmPartition } : {}),
  ...(args.slurmTime ? { time: args.slurmTime } : {}),
  ...(args.slurmCpus ? { cpus: args.slurmCpus } : {}),
  ...(args.slurmGpus ? { gpus: args.slurmGpus } : {}),
  ...(args.slurmMem ? { mem: args.slurmMem } : {}),
  ...(args.slurmMaxParallel ? { maxParallel: args.slurmMaxParallel } : {}),
  ...(args.slurmExtra ? { extra: args.slurmExtra } : {}),
});

/** a worker or array task sends its cells' shards where this run does */
function shardArgv(args: RunArgs): string[] {
  if (args.shardExecutor !== 'slurm') return [];
  const o = slurmOptions(args);
  return [
    '--shard-executor', 'slurm',
    ...(o.partition ? ['--slurm-partition', o.partition] : []),
    ...(o.time ? ['--slurm-time', o.time] : []),
    ...(o.cpus ? ['--slurm-cpus', String(o.cpus)] : []),
    ...(o.gpus ? ['--slurm-gpus', String(o.gpus)] : []),
    ...(o.mem ? ['--slurm-mem', o.mem] : []),
    ...(o.maxParallel ? ['--slurm-max-parallel', String(o.maxParallel)] : []),
    // one word each: `--slurm-extra --account=abc` would read the value as an option
    ...(o.extra ?? []).map((e) => `--slurm-extra=${e}`),
  ];
}

async function submit(plan: Plan, store: RunStore, args: RunArgs, io: Io): Promise<number> {
  const pending = selectCells(plan, args.only).filter((c) => args.force || store.readStatus(store.runDir(plan.experiment, c))?.state !== 'completed');
  await writeManifest(plan, store);
  const result = await submitSlurm(plan, pending, {
    dir: join(store.experimentDir(plan.experiment), 'slurm'),
    runArgv: [process.execPath, join(packageRoot, 'bin', 'vsdlab.js'), ...baseArgv(args, store), ...(args.force ? ['--force'] : [])],
    dryRun: args.dryRun,
    ...slurmOptions(args),
  });
  if ('nothingToSubmit' in result) {
    io.out(result.nothingToSubmit);
    return 0;
  }
  const what = `${pending.length} cell${pending.length === 1 ? '' : 's'}: ${result.script}`;
  io.out(result.jobId ? `submitted Slurm array job ${result.jobId} (${what}); follow it with \`vsdlab status ${args.file}\`` : `wrote ${what} (not submitted: --dry-run)`);
  return 0;
}
