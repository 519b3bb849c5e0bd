// Runs the compiled benchmarks (dist/bench/**/*.js), each in its own process so each peak RSS is its own.
// Usage: npm run bench [-- filter-substring ...]   e.g. `npm run bench -- metrics/frechet`
// Each bench prints its figures and the peer it is measured against (BENCHMARKS.md records them with their commands).
// Benches that need something this machine may not have (a Python peer, a 3.5 GB model folder) say so and skip.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = 'dist/bench';
const filters = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    // a module that exports is a helper the benches import (kernel-cpu, fullsize-inputs), not a bench
    else if (name.endsWith('.js') && !/^export /m.test(readFileSync(path, 'utf8')) && (filters.length === 0 || filters.some((f) => path.includes(f)))) files.push(path);
  }
};
walk(root);
if (files.length === 0) {
  console.error(`no benchmarks under ${root} matching ${filters.join(' ') || '*'}`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(`\n${files.length - failed} of ${files.length} benchmarks ran to completion`);
process.exit(failed === 0 ? 0 : 1);
