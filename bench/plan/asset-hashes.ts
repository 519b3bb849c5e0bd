// `vsdlab plan` on an experiment naming a 40K-image folder and a multi-GB model: the first run (empty asset hash
// cache: every byte hashed), then the cached run (one stat per file), beside the same command with the cache off
// (what every plan/run/status cost before) and beside a plan naming no large asset (the process start-up floor).
// Whole processes, wall clock and CPU time (user + sys), median of --rounds; the assets are made once under --dir and reused (--clean removes them).
// run: npm run build && node dist/bench/plan/asset-hashes.js [--images 40000] [--image-kb 32] [--model-gb 3] [--rounds 3] [--dir /tmp/vsdlab-bench-assets]
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { planExperiment } from '../../src/plan/plan.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
};
const IMAGES = Number(arg('images', '40000'));
const IMAGE_KB = Number(arg('image-kb', '32'));
const MODEL_GB = Number(arg('model-gb', '3'));
const ROUNDS = Number(arg('rounds', '3'));
const DIR = arg('dir', '/tmp/vsdlab-bench-assets');

function makeAssets(): { images: string; model: string; small: string } {
  const images = join(DIR, `images-${IMAGES}x${IMAGE_KB}k`);
  const model = join(DIR, `model-${MODEL_GB}g.safetensors`);
  const small = join(DIR, 'extractor.onnx');
  if (!existsSync(join(images, '.complete'))) {
    mkdirSync(images, { recursive: true });
    for (let i = 0; i < IMAGES; i++) writeFileSync(join(images, `COCO_val2014_${String(i).padStart(12, '0')}.jpg`), randomBytes(IMAGE_KB * 1024));
    writeFileSync(join(images, '.complete'), '');
  }
  if (!existsSync(model) || statSync(model).size !== Math.round(MODEL_GB * 2 ** 30)) {
    const fd = openSync(model, 'w');
    const block = randomBytes(2 ** 20);
    for (let mb = 0; mb < MODEL_GB * 1024; mb++) {
      block.writeUInt32LE(mb, 0); // no two blocks alike
      writeSync(fd, block);
    }
    closeSync(fd);
  }
  writeFileSync(small, 'stand-in extractor');
  return { images, model, small };
}

/** wall seconds; CPU seconds (user + sys, from /usr/bin/time) go to `cpu`: on a loaded machine they say more */
function time(args: string[], env: Record<string, string>, cpu: number[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, 'bin/vsdlab.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`vsdlab ${args.join(' ')} failed:\n${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  cpu.push(m ? Number(m[1]) + Number(m[2]) : Number.NaN);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** planExperiment alone, in this process: the hashing without Node's and the CLI's start-up */
async function inProcess(file: string, cache: string): Promise<number> {
  process.env.VSDLAB_ASSET_CACHE = cache;
  const t = process.hrtime.bigint();
  await planExperiment(file);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  if (process.argv.includes('--clean')) {
    rmSync(DIR, { recursive: true, force: true });
    return;
  }
  const t0 = Date.now();
  const { images, model, small } = makeAssets();
  console.log(`assets: ${IMAGES} images of ${IMAGE_KB} KiB in ${images}, a ${MODEL_GB} GiB model (${((Date.now() - t0) / 1000).toFixed(1)} s to make or find)`);
  const big = join(DIR, 'big.yaml');
  const none = join(DIR, 'none.yaml');
  const metrics = (ref: string): string => `  evaluate:\n    metrics:\n      - { name: fid, extractor: ${small}, reference: ${ref} }\n`;
  writeFileSync(big, `name: bench-assets\nbase:\n  teacher:\n    model: ${model}\n${metrics(images)}`);
  writeFileSync(none, `name: bench-noassets\nbase:\n  teacher:\n    model: ${small}\n${metrics(small)}`);
  const cache = join(DIR, `asset-hashes-${process.pid}`);
  // files younger than the racy margin are (rightly) not cached: make sure the fresh ones are old enough
  const wait = 2500 - (Date.now() - Math.max(statSync(images).mtimeMs, statSync(model).mtimeMs));
  if (wait > 0) spawnSync('sleep', [String(wait / 1000)]);
  const rows: Array<[string, number[], number[]]> = [['first (empty cache)', [], []], ['cached', [], []], ['cache off (every byte)', [], []], ['no large asset (start-up)', [], []]];
  for (let r = 0; r < ROUNDS; r++) {
    rmSync(cache, { recursive: true, force: true });
    rows[0]![1].push(time(['plan', big], { VSDLAB_ASSET_CACHE: cache }, rows[0]![2]));
    rows[1]![1].push(time(['plan', big], { VSDLAB_ASSET_CACHE: cache }, rows[1]![2]));
    rows[2]![1].push(time(['plan', big], { VSDLAB_ASSET_CACHE: 'off' }, rows[2]![2]));
    rows[3]![1].push(time(['plan', none], { VSDLAB_ASSET_CACHE: cache }, rows[3]![2]));
  }
  const inside: Array<[string, number[]]> = [['cached', []], ['no large asset', []]];
  for (let r = 0; r < ROUNDS; r++) {
    inside[0]![1].push(await inProcess(big, cache));
    inside[1]![1].push(await inProcess(none, cache));
  }
  const cacheSize = readdirSync(cache).reduce((n, f) => n + statSync(join(cache, f)).size, 0);
  rmSync(cache, { recursive: true, force: true });
  const cached = median(rows[1]![1]);
  console.log(`vsdlab plan, whole process, median of ${ROUNDS} (cache ${(cacheSize / 2 ** 20).toFixed(1)} MiB):`);
  for (const [name, xs, cpu] of rows) {
    console.log(`  ${name.padEnd(28)} wall ${median(xs).toFixed(2)} s (${xs.map((x) => x.toFixed(2)).join(', ')}), ${(median(xs) / cached).toFixed(1)}× cached; cpu ${median(cpu).toFixed(2)} s (${cpu.map((x) => x.toFixed(2)).join(', ')})`);
  }
  console.log(`planExperiment in one process (no start-up), median of ${ROUNDS}:`);
  for (const [name, xs] of inside) console.log(`  ${name.padEnd(28)} ${median(xs).toFixed(3)} s   (${xs.map((x) => x.toFixed(3)).join(', ')})`);
}

await main();
