// `npm start [-- --profile full|lite|smoke] [-- -j 2]`: the embedded study on this machine. Builds the synthetic captioned
// set when it is missing, runs the experiment through the real CLI (resumable: run it again after a kill),
// writes the report and prints its path.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const at = args.indexOf('--profile');
const profile = at >= 0 ? args.splice(at, 2)[1] : 'full';
const experiment = { lite: 'experiments/embedded-ablation-lite.yaml', full: 'experiments/embedded-ablation.yaml', smoke: 'experiments/embedded-smoke.yaml' }[profile];
if (!experiment) {
  console.error(`npm start: unknown --profile ${profile} (lite, full or smoke)`);
  process.exit(2);
}
const name = { lite: 'embedded-ablation-lite', full: 'embedded-ablation', smoke: 'embedded-smoke' }[profile];
const vsdlab = (...a) => spawnSync(process.execPath, ['bin/vsdlab.js', ...a], { stdio: 'inherit' }).status ?? 1;
const step = (title) => console.log(`\n== ${title}`);

step('dataset: synthetic captioned shapes (datasets/synthetic-shapes.yaml)');
if (existsSync('data/synthetic-shapes/manifest.json')) {
  if (vsdlab('datasets', 'verify', 'data/synthetic-shapes') !== 0) process.exit(1);
} else if (vsdlab('datasets', 'build', 'datasets/synthetic-shapes.yaml', '--out', 'data/synthetic-shapes') !== 0) process.exit(1);

step(`plan: ${experiment}`);
if (vsdlab('plan', experiment) !== 0) process.exit(2);

step(`run: ${experiment}`);
// one worker per core (the wasm backend runs one thread), unless the caller chose
const jobs = args.some((a) => a === '-j' || a === '--jobs' || a.startsWith('-j') || a.startsWith('--jobs=')) ? [] : ['-j', String(Math.max(1, Math.min(availableParallelism(), 4)))];
const code = vsdlab('run', experiment, ...jobs, ...args);

step('report');
const out = `reports/${name}`;
if (vsdlab('report', experiment, '--out', out) !== 0) process.exit(1);
console.log(`\nreport: ${out}/index.html (also table.md, table.tex, results.csv)`);
process.exit(code);
