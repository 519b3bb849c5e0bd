// `vsdlab fid DIR1 DIR2` end to end (decode, resize, network, statistics, distance) against pytorch-fid's own
// command (`python -m pytorch_fid DIR1 DIR2 --device cpu`, tools/bench/pytorch_fid_random.py) on the same network
// (the FID Inception with seeded random weights from tools/export_inception.py: ONNX for vsdlab, the state dict for
// pytorch-fid) and the same PNG folders of 256² images, in --mode legacy-pytorch (pytorch-fid's preprocessing).
// Each N is split into two folders of N/2 (written once, reused by later runs through --images). The two commands
// alternate; each runs under /usr/bin/time (CPU = user + sys of the process and its children, i.e. pytorch-fid's
// DataLoader workers) while /proc is sampled every 100 ms for the peak memory of the whole process tree (sum of
// PSS, so pages the DataLoader workers share with their parent count once; RSS of the biggest process beside it).
// Equal threads: ORT intra-op threads (--threads) and torch.set_num_threads; pytorch-fid keeps its own default
// DataLoader workers (min(8, cores)), vsdlab decodes on libuv's pool with sharp's default concurrency.
// run: npm run build && node dist/bench/metrics/fid-end-to-end.js --pytorch-fid PEERS/pytorch-fid/src
//      [--sizes 2000,8000] [--threads 2] [--batch 50] [--rounds 1] [--images DIR] [--model X.onnx --state-dict X.pth]
//      [--only vsdlab|pytorch-fid]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { deriveSeed, Xoshiro128ss } from '../../src/data/random.js';
import { sampleScene } from '../../src/data/synthetic-scene.js';
import { renderScene } from '../../src/data/synthetic-render.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SIZES = (opt('sizes') ?? '2000,8000').split(',').map(Number);
const THREADS = Number(opt('threads') ?? 2);
const BATCH = Number(opt('batch') ?? 50);
const ROUNDS = Number(opt('rounds') ?? 1);
const PEER = opt('pytorch-fid');
const ONLY = opt('only');
const PYTHON = '/usr/bin/python3';
const SIDE = 256;

/** a 256² scene of the synthetic world (shapes on a background) with seeded per-pixel noise: PNGs of realistic size */
function image(seed: number, index: number, noise: number): Uint8Array {
  const rng = Xoshiro128ss.fromSeed(deriveSeed(seed, index));
  const rgb = renderScene(sampleScene(rng), SIDE, 2);
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i]! + Math.round((rng.nextFloat() * 2 - 1) * noise);
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return rgb;
}

/** DIR/n{N}/{a,b}: N/2 images each (b noisier, so the FID is far from 0), written once */
async function imageFolders(root: string, n: number): Promise<[string, string]> {
  const dirs: [string, string] = [join(root, `n${n}`, 'a'), join(root, `n${n}`, 'b')];
  const half = n / 2;
  for (const [k, dir] of dirs.entries()) {
    const done = join(dir, '..', `.complete-${k}`);
    if (existsSync(done)) continue;
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < half; i++) {
      const png = await sharp(image(k + 1, i, k === 0 ? 6 : 24), { raw: { width: SIDE, height: SIDE, channels: 3 } }).png().toBuffer();
      writeFileSync(join(dir, `${String(i).padStart(5, '0')}.png`), png);
    }
    writeFileSync(done, `${half}\n`);
  }
  return dirs;
}

/** pids of `root` and all its descendants, from /proc/<pid>/task/<pid>/children */
function tree(root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

function kib(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

interface Run {
  fid: number;
  wall: number;
  cpu: number;
  /** peak of the sum of PSS over the process tree, MiB */
  treePss: number;
  /** GNU time's maximum resident set size (the biggest single process), MiB */
  maxRss: number;
  load: number;
}

/** runs cmd under /usr/bin/time -v, sampling the tree's memory; the FID is read from stdout */
function measured(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const load0 = loadavg()[0]!;
    const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let peak = 0;
    const sample = (): void => {
      let sum = 0;
      // the tree under time(1): its child command and that command's children
      for (const pid of tree(child.pid!).slice(1)) {
        try {
          sum += kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
        } catch {
          // gone
        }
      }
      peak = Math.max(peak, sum);
    };
    const timer = setInterval(sample, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`));
      const num = (re: RegExp): number => Number(re.exec(stderr)?.[1] ?? NaN);
      const fid = Number(/FID:\s+(\S+)/.exec(stdout)?.[1]);
      // h:mm:ss or m:ss.ss
      const [sec, min, hour] = (/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(stderr)?.[1] ?? '').split(':').reverse().map(Number);
      const wall = (sec ?? NaN) + (min ?? 0) * 60 + (hour ?? 0) * 3600;
      resolve({
        fid,
        wall,
        cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
        treePss: peak / 1024,
        maxRss: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
        load: (load0 + loadavg()[0]!) / 2,
      });
    });
  });
}

async function main(): Promise<void> {
  if (!ONLY && !PEER) throw new Error('pass --pytorch-fid PEERS/pytorch-fid/src (or --only vsdlab)');
  const work = mkdtempSync(join(tmpdir(), 'vsdlab-bench-fid-e2e-'));
  const root = opt('images') ?? join(work, 'images');
  try {
    let model = opt('model');
    let state = opt('state-dict');
    if (!model || !state) {
      model = join(work, 'inception.onnx');
      state = join(work, 'inception.pth');
      const r = spawnSync(PYTHON, ['tools/export_inception.py', '--random-init', '0', '--out', model, '--save-state-dict', state, '--no-check'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`export failed:\n${r.stderr}`);
    }
    console.log(`FID end to end, legacy-pytorch, ${SIDE}² PNGs, FID Inception (random weights, seed 0), ${THREADS} network threads, batch ${BATCH}`);
    console.log('side | N | FID | wall s | CPU s | images/s wall | images/CPU-s | peak tree PSS MiB | max RSS MiB | load');
    for (const n of SIZES) {
      const [a, b] = await imageFolders(root, n);
      if (readdirSync(a).length + readdirSync(b).length !== n) throw new Error(`${root}/n${n} does not hold ${n} images`);
      const sides: Array<[string, () => Promise<Run>]> = [];
      if (ONLY !== 'pytorch-fid') {
        sides.push(['vsdlab', () => measured(process.execPath, ['bin/vsdlab.js', 'fid', a, b, '--mode', 'legacy-pytorch', '--inception', model, '--threads', String(THREADS), '--batch-size', String(BATCH), '--device', 'cpu', '--no-cache'])]);
      }
      if (ONLY !== 'vsdlab') {
        sides.push(['pytorch-fid', () => measured(PYTHON, ['tools/bench/pytorch_fid_random.py', '--pytorch-fid', PEER!, '--state-dict', state, '--threads', String(THREADS), '--', a, b, '--device', 'cpu', '--batch-size', String(BATCH)])]);
      }
      const fids: Record<string, number> = {};
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, go] of r % 2 === 0 ? sides : [...sides].reverse()) {
          const x = await go();
          fids[name] = x.fid;
          console.log(
            `${name} | ${n} | ${x.fid} | ${x.wall.toFixed(1)} | ${x.cpu.toFixed(1)} | ${(n / x.wall).toFixed(2)} | ${(n / x.cpu).toFixed(2)} | ${x.treePss.toFixed(0)} | ${x.maxRss.toFixed(0)} | ${x.load.toFixed(1)}`,
          );
        }
      }
      if (fids.vsdlab !== undefined && fids['pytorch-fid'] !== undefined) console.log(`N ${n}: |FID vsdlab - pytorch-fid| = ${Math.abs(fids.vsdlab - fids['pytorch-fid']).toExponential(2)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
