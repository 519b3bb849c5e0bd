import type { Argv } from 'yargs';
import { planExperiment } from '../../plan/plan.js';
import { runPlan } from '../../exec/run-plan.js';
import { defaultReporterName, reporters, type ReporterName } from '../../exec/reporters/index.js';
import { defaultStages } from '../../stages/index.js';
import { jsonOption, openStore, parseOverrides, setOption, storeOption } from '../options.js';
import type { Io } from '../io.js';

export const command = 'run <file>';
export const describe = 'run every cell that is not complete: resumes interrupted cells, retries failed ones, reuses cached stages';

export const builder = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, description: 'experiment YAML file' })
    .option('only', { type: 'string', array: true, description: 'run only these cells (slug or full name)' })
    .option('force', { type: 'boolean', default: false, description: 're-run completed cells and recompute their stages' })
    .option('set', setOption)
    .option('store', storeOption)
    .option('reporter', { choices: Object.keys(reporters) as ReporterName[], description: 'progress output (default: tty bar on a terminal, plain lines otherwise)' })
    .option('json', { ...jsonOption, description: 'NDJSON events on stdout (same as --reporter json)' })
    .example('$0 run experiments/embedded-ablation.yaml', 'run the whole ablation')
    .example('$0 run exp.yaml --only vsd-eps-s0 --force', 'recompute one cell');

interface RunArgs {
  file: string;
  only?: string[];
  force: boolean;
  set?: string[];
  store?: string;
  reporter?: ReporterName;
  json: boolean;
}

export async function handler(args: RunArgs, _io: Io, signal: AbortSignal): Promise<number> {
  const plan = await planExperiment(args.file, { overrides: parseOverrides(args.set) });
  const reporter = reporters[args.json ? 'json' : (args.reporter ?? defaultReporterName())]();
  const summaries = await runPlan(plan, {
    store: openStore(args.store),
    stages: defaultStages(),
    reporter,
    force: args.force,
    signal,
    ...(args.only ? { only: args.only } : {}),
  });
  if (summaries.some((s) => s.outcome === 'interrupted') || signal.aborted) return 130;
  return summaries.some((s) => s.outcome === 'failed') ? 1 : 0;
}
