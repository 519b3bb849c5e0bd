// Kill trials, full mode (issue 18; RELIABILITY.md records the figures of the last run).
// Usage: npm run build && node scripts/kill-trials.js [--trials 50] [--seed 1] [--targets study,sharded,prepare]
//        [--experiment FILE] [--keep DIR]   (trial i runs target i mod the number of targets)
// Exits 1 when any trial found a difference, a corrupt file, a leftover or a stage that ran again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KILL_TARGETS, runKillTrials } from '../dist/test/reliability/kill-trials.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'max-kills': { type: 'string', default: '2' },
    experiment: { type: 'string', default: 'test/fixtures/reliability/tiny-study.yaml' },
    targets: { type: 'string', default: KILL_TARGETS.join(',') },
    keep: { type: 'string' },
  },
});
const root = resolve(fileURLToPath(import.meta.url), '../..');
const workDir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'vsdlab-kill-trials-'));
const figures = await runKillTrials({
  experiment: values.experiment,
  targets: values.targets.split(',').map((t) => {
    if (!KILL_TARGETS.includes(t)) {
      console.error(`kill-trials: unknown target ${t} (one of ${KILL_TARGETS.join(', ')})`);
      process.exit(2);
    }
    return t;
  }),
  workDir,
  trials: Number(values.trials),
  seed: Number(values.seed),
  maxKills: Number(values['max-kills']),
  root,
  log: (line) => console.error(line),
});
console.log(JSON.stringify(figures, null, 2));
if (!values.keep) rmSync(workDir, { recursive: true, force: true });
const bad = figures.differences.length + figures.corrupt.length + figures.leftovers.length + figures.recomputed.length + figures.failures.length;
process.exit(bad === 0 ? 0 : 1);
