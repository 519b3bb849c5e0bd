// Runs a command and reports the peak of the summed resident memory of it and every process under it, sampled
// twice a second from /proc (Linux). `/usr/bin/time -v` reports the largest single process only; `npm start`
// runs a CLI, a pool and its workers at once, and the memory bound is for all of them together.
// Usage: node scripts/peak-tree-rss.js [--every-ms 500] -- <command> [args...]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
if (dash < 0 || dash === argv.length - 1) {
  console.error('usage: node scripts/peak-tree-rss.js [--every-ms 500] -- <command> [args...]');
  process.exit(2);
}
const everyAt = argv.indexOf('--every-ms');
const everyMs = everyAt >= 0 && everyAt < dash ? Number(argv[everyAt + 1]) : 500;
const [command, ...args] = argv.slice(dash + 1);

const pageKiB = 4; // /proc/<pid>/statm counts pages; x86-64 Linux pages are 4 KiB
const parentOf = new Map();
const rssKiB = (pid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * pageKiB;
  } catch {
    return 0; // the process ended between the listing and the read
  }
};
const treeRssKiB = (root) => {
  parentOf.clear();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // the command name may hold spaces and parentheses: the fields after the last ')' are fixed
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(fields[1]));
    } catch {
      /* gone */
    }
  }
  const inTree = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parentOf.get(p) ?? 0, hops++) if (p === root) return true;
    return false;
  };
  let sum = 0;
  for (const pid of parentOf.keys()) if (inTree(pid)) sum += rssKiB(pid);
  return sum;
};

const started = Date.now();
const child = spawn(command, args, { stdio: 'inherit' });
let peak = 0;
let peakAt = 0;
const timer = setInterval(() => {
  const now = treeRssKiB(child.pid);
  if (now > peak) {
    peak = now;
    peakAt = (Date.now() - started) / 1000;
  }
}, everyMs);
child.on('close', (code, signal) => {
  clearInterval(timer);
  const wall = (Date.now() - started) / 1000;
  console.error(`peak-tree-rss: ${(peak / 1024).toFixed(0)} MiB (all processes together, sampled every ${everyMs} ms; at ${peakAt.toFixed(0)} s), wall ${wall.toFixed(1)} s, exit ${code ?? signal}`);
  process.exit(code ?? 1);
});
