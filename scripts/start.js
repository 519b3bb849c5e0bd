// `npm start`: the embedded study on this machine. Builds the synthetic captioned set when it is missing,
// then runs experiments/embedded-ablation.yaml through the real CLI and prints where the results are.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const vsdlab = (...args) => {
  const r = spawnSync(process.execPath, ['bin/vsdlab.js', ...args], { stdio: 'inherit' });
  return r.status ?? 1;
};
const step = (title) => console.log(`\n== ${title}`);

step('dataset: synthetic captioned shapes (datasets/synthetic-shapes.yaml)');
if (existsSync('data/synthetic-shapes/manifest.json')) {
  if (vsdlab('datasets', 'verify', 'data/synthetic-shapes') !== 0) process.exit(1);
} else if (vsdlab('datasets', 'build', 'datasets/synthetic-shapes.yaml', '--out', 'data/synthetic-shapes') !== 0) process.exit(1);

step('plan: experiments/embedded-ablation.yaml');
if (vsdlab('plan', 'experiments/embedded-ablation.yaml') !== 0) process.exit(2);

step('run');
const code = vsdlab('run', 'experiments/embedded-ablation.yaml', ...process.argv.slice(2));
console.log(`\nrun store: ${process.env.VSDLAB_STORE ?? 'runs'}/embedded-ablation (vsdlab status experiments/embedded-ablation.yaml)`);
process.exit(code);
