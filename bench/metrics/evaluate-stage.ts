// The evaluate stage of the embedded study, cell after cell in one worker process as `vsdlab run` runs it, this
// build against a baseline build (`--baseline DIR`, a built checkout of an older commit) side by side: the two
// alternate round by round, each round a fresh process per side evaluating the same cells in the same order,
// each on its own copy of a feature cache that already holds the reference sets (the state of every cell after
// the study's first). Process CPU seconds per cell and per metric (CPU counts every thread: onnxruntime's too),
// and every metric of every cell compared between the two builds to the last digit.
// run: npm run build && node dist/bench/metrics/evaluate-stage.js --runs <store>/<experiment> [--cells 4] [--rounds 3]
//      [--baseline DIR] [--cwd DIR] (the workspace the cells' relative asset paths resolve in; default: this one)
//      [--workers 2] (VSDLAB_WORKERS of the processes: a worker of `vsdlab run -j 2`, as `npm start` on 2 cores)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cell } from '../../src/plan/plan.js';
import type { Stage, StageOutput } from '../../src/tracking/stage.js';

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const THIS_STAGE = resolve(here, '../../src/stages/evaluate-stage.js');

interface CellRun {
  cell: string;
  wall: number;
  cpu: number;
  metrics: Record<string, { seconds: number; cpu_seconds: number }>;
  result: unknown;
}

/** child: evaluate the given cell folders one after another with the stage module named, print one JSON line */
async function child(stageModule: string, cells: string[]): Promise<void> {
  const { evaluateStage } = (await import(stageModule)) as { evaluateStage: Stage };
  const out: CellRun[] = [];
  for (const runDir of cells) {
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Pick<Cell, 'config' | 'id' | 'slug' | 'varying' | 'assets'>;
    const stages = JSON.parse(readFileSync(join(runDir, 'stages.json'), 'utf8')) as Record<string, { key: string; dir: string; result: Record<string, unknown> }>;
    const gen = stages.generate!;
    const workDir = mkdtempSync(join(tmpdir(), 'vsdlab-bench-eval-work-'));
    const metrics: CellRun['metrics'] = {};
    const cell = { ...config, index: 0, name: runDir } as Cell;
    const upstream: Partial<Record<'generate', StageOutput>> = { generate: { stage: 'generate', key: gen.key, dir: gen.dir, result: gen.result } };
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const result = await evaluateStage.run({
      cell,
      workDir,
      upstream,
      log: (r) => {
        if (typeof r.metric === 'string') metrics[r.metric] = { seconds: Number(r.seconds), cpu_seconds: Number(r.cpu_seconds) };
      },
      progress: () => undefined,
      signal: new AbortController().signal,
    });
    const used = process.cpuUsage(cpu);
    out.push({ cell: runDir, wall: (performance.now() - wall) / 1000, cpu: (used.user + used.system) / 1e6, metrics, result });
    rmSync(workDir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runSide(stageModule: string, cells: string[], cache: string, cwd: string): CellRun[] {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', stageModule, ...cells], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, VSDLAB_FEATURE_CACHE: cache, VSDLAB_WORKERS: argOf('workers') ?? '2' },
  });
  if (r.status !== 0) throw new Error(`evaluate with ${stageModule} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CellRun[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv.slice(4));
  const runs = argOf('runs');
  if (runs === undefined || !existsSync(runs)) {
    console.log('evaluate-stage: skipped (needs --runs <store>/<experiment> of a run whose cells reached generate, e.g. `npm start`\'s)');
    return;
  }
  const count = Number(argOf('cells') ?? 4);
  const rounds = Number(argOf('rounds') ?? 3);
  const baselineDir = argOf('baseline');
  const cwd = resolve(argOf('cwd') ?? '.');
  const all = readdirSync(runs)
    .map((n) => join(resolve(runs), n))
    .filter((d) => existsSync(join(d, 'stages.json')) && 'generate' in (JSON.parse(readFileSync(join(d, 'stages.json'), 'utf8')) as object))
    .sort();
  if (all.length < count + 1) throw new Error(`${runs}: ${all.length} cells with generated images; --cells ${count} needs ${count + 1} (one warms the cache)`);
  const [first, ...rest] = all;
  const cells = rest.slice(0, count);
  const sides: Array<[string, string]> = [['this build', THIS_STAGE]];
  if (baselineDir) sides.unshift(['baseline', resolve(baselineDir, 'dist/src/stages/evaluate-stage.js')]);

  // the study's state after its first cell: the reference sets in the cache (through every side's own path)
  const warm = mkdtempSync(join(tmpdir(), 'vsdlab-bench-eval-cache-'));
  try {
    for (const [, module] of sides) runSide(module, [first!], warm, cwd);
    const byside = new Map<string, CellRun[][]>(sides.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, module] of sides) {
        const cache = mkdtempSync(join(tmpdir(), 'vsdlab-bench-eval-cache-'));
        cpSync(warm, cache, { recursive: true });
        try {
          const r = runSide(module, cells, cache, cwd);
          byside.get(name)!.push(r);
          console.log(`round ${round + 1} ${name}: CPU s per cell ${r.map((c) => c.cpu.toFixed(2)).join(', ')}; wall s ${r.map((c) => c.wall.toFixed(2)).join(', ')}`);
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      }
    }
    console.log(`\n${cells.length} cells (${cells.map((c) => c.split('/').at(-1)).join(', ')}), one process per side and round, median of ${rounds} rounds`);
    console.log('| | first cell of the process, CPU s | later cells, CPU s (median) | wall s per cell (median) | ' + 'per metric CPU s, later cells |');
    console.log('|---|---|---|---|---|');
    const medianCpu: Record<string, number> = {};
    for (const [name] of sides) {
      const rs = byside.get(name)!;
      const firstCpu = median(rs.map((r) => r[0]!.cpu));
      const later = rs.flatMap((r) => r.slice(1));
      const laterCpu = median(later.map((c) => c.cpu));
      medianCpu[name] = median(rs.flat().map((c) => c.cpu));
      const metricNames = Object.keys(later[0]?.metrics ?? rs[0]![0]!.metrics);
      const perMetric = metricNames.map((m) => `${m} ${median(later.map((c) => c.metrics[m]?.cpu_seconds ?? NaN)).toFixed(2)}`).join(', ');
      console.log(`| ${name} | ${firstCpu.toFixed(2)} | ${laterCpu.toFixed(2)} | ${median(rs.flat().map((c) => c.wall)).toFixed(2)} | ${perMetric} |`);
    }
    if (baselineDir) {
      console.log(`\nCPU per cell, this build ÷ baseline: ${(medianCpu['this build']! / medianCpu.baseline!).toFixed(2)}`);
      // every metric of every cell, every round: the same numbers to the last digit
      const differ: string[] = [];
      const reference = byside.get('baseline')![0]!;
      for (const runsOfSide of byside.values()) {
        for (const r of runsOfSide) {
          r.forEach((c, i) => {
            if (JSON.stringify(c.result) !== JSON.stringify(reference[i]!.result)) differ.push(c.cell);
          });
        }
      }
      console.log(differ.length === 0 ? 'results: every metric of every cell bit-identical between the builds and across rounds' : `results DIFFER: ${[...new Set(differ)].join(', ')}`);
      const out = argOf('json');
      if (out) writeFileSync(out, JSON.stringify(Object.fromEntries(byside), null, 1));
      if (differ.length > 0) process.exitCode = 1;
    }
  } finally {
    rmSync(warm, { recursive: true, force: true });
  }
}

await main();
