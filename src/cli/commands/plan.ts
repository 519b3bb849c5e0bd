import type { Argv } from 'yargs';
import { planExperiment, type Plan } from '../../plan/plan.js';
import { allowOutsideWorkspace, allowOutsideWorkspaceOption, hashProgress, jsonOption, openStore, parseOverrides, setOption, storeOption } from '../options.js';
import { show, textTable } from '../table.js';
import type { Io } from '../io.js';

export const command = 'plan <file>';
export const describe = 'expand an experiment file into cells and show what varies, without running anything';

export const builder = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, description: 'experiment YAML file' })
    .option('set', setOption)
    .option('store', storeOption)
    .option('allow-outside-workspace', allowOutsideWorkspaceOption)
    .option('json', jsonOption)
    .example('$0 plan experiments/embedded-ablation.yaml', 'the cells, their run ids and the keys that vary')
    .example('$0 plan exp.yaml --set distill.steps=50 --json', 'resolved configs as JSON');

export async function handler(args: { file: string; set?: string[]; store?: string; json: boolean; allowOutsideWorkspace?: boolean }, io: Io): Promise<number> {
  const plan = await planExperiment(args.file, { overrides: parseOverrides(args.set), hashProgress: hashProgress(args.json), allowOutsideWorkspace: allowOutsideWorkspace(args.allowOutsideWorkspace) });
  const store = openStore(args.store);
  if (args.json) {
    io.out(JSON.stringify(planJson(plan, (name) => store.runDir(plan.experiment, { name })), null, 2));
    return 0;
  }
  io.out(renderPlan(plan));
  return 0;
}

export function planJson(plan: Plan, runDir: (name: string) => string) {
  return {
    experiment: plan.experiment,
    file: plan.file,
    count: plan.cells.length,
    varying_keys: plan.varyingKeys,
    cells: plan.cells.map((c) => ({ id: c.id, slug: c.slug, name: c.name, run_dir: runDir(c.name), varying: c.varying, assets: c.assets, config: c.config })),
  };
}

export function renderPlan(plan: Plan): string {
  const header = ['#', 'cell', ...plan.varyingKeys, 'run id'];
  const rows = plan.cells.map((c, i) => [String(i + 1), c.slug, ...plan.varyingKeys.map((k) => show(c.varying[k])), c.id.slice(0, 12)]);
  const missing = [...new Set(plan.cells.flatMap((c) => c.assets.filter((a) => a.sha256 === null).map((a) => `${a.key}: ${a.path}`)))];
  return [
    `${plan.experiment}: ${plan.cells.length} cell${plan.cells.length === 1 ? '' : 's'}${plan.description ? ` — ${plan.description}` : ''}`,
    '',
    textTable([header, ...rows]),
    ...(missing.length > 0 ? ['', 'assets not found yet (their hash joins the run id once they exist):', ...missing.map((m) => `  ${m}`)] : []),
  ].join('\n');
}
