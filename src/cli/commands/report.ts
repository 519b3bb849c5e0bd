import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Argv } from 'yargs';
import { BadInputError } from '../../errors.js';
import { buildReport } from '../../report/build-report.js';
import { collectFromDirs, collectFromExperiment, type CollectedRuns } from '../../report/collect-runs.js';
import { loadReferences } from '../../report/references.js';
import { renderers } from '../../report/renderers/index.js';
import type { Aggregation, Report } from '../../report/types.js';
import { writeReport } from '../../report/write-report.js';
import { packageRoot } from '../../tracking/provenance.js';
import { allowOutsideWorkspace, allowOutsideWorkspaceOption, jsonOption, openStore, parseOverrides, setOption, storeOption } from '../options.js';
import type { Io } from '../io.js';

export const command = 'report <inputs..>';
export const describe = 'aggregate runs over seeds into paper-style tables, charts and image grids (md, tex, csv, html, json)';

const bundledReferences = (): string[] => {
  const dir = join(packageRoot, 'experiments', 'references');
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f)) : [];
};

export const builder = (y: Argv) =>
  y
    .positional('inputs', { type: 'string', array: true, demandOption: true, description: 'an experiment file, or run folders (runs/<experiment>/<cell>)' })
    .option('out', { type: 'string', description: 'report folder (default: reports/<experiment>)' })
    .option('ci', { choices: ['bootstrap'] as const, description: 'add 95% percentile-bootstrap intervals of the mean' })
    .option('resamples', { type: 'number', default: 2000, description: 'bootstrap resamples' })
    .option('ci-seed', { type: 'number', default: 0, description: 'seed of the bootstrap resampling' })
    .option('references', { type: 'string', array: true, description: 'reference-number files (default: the bundled experiments/references/*.yaml)' })
    .option('paper', { type: 'boolean', default: true, description: 'include paper numbers (--no-paper leaves them out)' })
    .option('format', { type: 'string', array: true, choices: [...renderers.keys()], description: 'formats to write (default: all)' })
    .option('title', { type: 'string', description: 'report title' })
    .option('set', setOption)
    .option('store', storeOption)
    .option('allow-outside-workspace', allowOutsideWorkspaceOption)
    .option('json', jsonOption)
    .example('$0 report experiments/ablation.yaml --ci bootstrap', 'every cell of the plan, with bootstrap intervals')
    .example('$0 report runs/abl/vsd-eps-s0-1a2b3c4d runs/abl/sds-eps-s0-5e6f7a8b --out reports/two', 'chosen run folders');

interface Args {
  inputs: string[];
  out?: string;
  ci?: 'bootstrap';
  resamples: number;
  ciSeed: number;
  references?: string[];
  paper: boolean;
  format?: string[];
  title?: string;
  set?: string[];
  store?: string;
  allowOutsideWorkspace?: boolean;
  json: boolean;
}

async function collect(args: Args): Promise<{ collected: CollectedRuns; source: Report['source'] }> {
  const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
  const [first, ...rest] = args.inputs;
  if (first === undefined) throw new BadInputError('REPORT_NO_INPUT', 'name an experiment file or run folders');
  for (const p of args.inputs) if (!existsSync(p)) throw new BadInputError('REPORT_NOT_FOUND', `${p}: no such file or folder`);
  if (isFile(first)) {
    if (rest.length > 0) throw new BadInputError('REPORT_MIXED_INPUT', 'give one experiment file, or run folders, not both');
    const collected = await collectFromExperiment(first, openStore(args.store), { overrides: parseOverrides(args.set), allowOutsideWorkspace: allowOutsideWorkspace(args.allowOutsideWorkspace) });
    return { collected, source: { kind: 'experiment', file: first } };
  }
  if (args.inputs.some(isFile)) throw new BadInputError('REPORT_MIXED_INPUT', 'give one experiment file, or run folders, not both');
  return { collected: collectFromDirs(args.inputs), source: { kind: 'runs', dirs: args.inputs } };
}

export async function handler(args: Args, io: Io): Promise<number> {
  if (!Number.isInteger(args.resamples) || args.resamples < 100) throw new BadInputError('REPORT_RESAMPLES', '--resamples must be an integer ≥ 100');
  const { collected, source } = await collect(args);
  const aggregation: Aggregation = {
    kind: 'mean_std',
    ci: args.ci === 'bootstrap' ? { method: 'bootstrap-percentile', level: 0.95, resamples: args.resamples, seed: args.ciSeed } : null,
  };
  const references = args.paper ? (args.references ?? bundledReferences()).map(loadReferences) : [];
  const report = buildReport(collected, { source, aggregation, references, generated: new Date().toISOString(), ...(args.title ? { title: args.title } : {}) });
  const out = args.out ?? join('reports', collected.experiment.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const written = await writeReport(report, out, args.format ?? [...renderers.keys()]);
  const summary = {
    out,
    cells: report.rows.length,
    runs: report.runs.length,
    incomplete: report.incomplete.length,
    columns: report.columns.map((c) => c.id),
    files: written.map((p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p))),
  };
  if (args.json) io.out(JSON.stringify(summary, null, 2));
  else {
    io.out(`${report.experiment}: ${summary.cells} cells from ${summary.runs} runs${summary.incomplete > 0 ? ` (${summary.incomplete} incomplete, listed in the report)` : ''}`);
    for (const f of summary.files) io.out(`  ${f}`);
  }
  return 0;
}
