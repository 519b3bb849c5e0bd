// `vsdlab datasets prepare coco2014` (no --inception: validation, caption subsets, reference PNGs) next to
// SwiftBrush v2's tools/resize.py per-image work in one Python process (Pillow 9.4: open, convert('RGB'), centre
// crop, LANCZOS, save PNG) on the same COCO-sized JPEGs, side by side in one run, alternating rep by rep.
// Wall and CPU (user + sys of the process and its threads) seconds, median over reps; then checks that both
// sides wrote the same pixels.
// run: npm run build && node dist/bench/data/coco-prepare.js [--images 200] [--reps 3] [--side 256]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { sha256 } from '../../src/util/hash.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = arg('images', 200);
const reps = arg('reps', 3);
const side = arg('side', 256);
const python = '/usr/bin/python3';
const time = '/usr/bin/time';
if (!existsSync(python) || !existsSync(time)) {
  console.log(`skipped: needs ${python} (Pillow) and ${time}`);
  process.exit(0);
}

const root = mkdtempSync(join(tmpdir(), 'vsdlab-bench-coco-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'val2014'));
mkdirSync(join(root, 'annotations'));

// COCO's usual sizes; content with edges and gradients so JPEG and LANCZOS do real work
const sizes = [[640, 480], [480, 640], [640, 427], [500, 375]] as const;
const images = [];
const annotations = [];
for (let i = 0; i < count; i++) {
  const [w, h] = sizes[i % sizes.length]!;
  const data = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) {
    const x = p % w;
    const y = (p / w) | 0;
    data[p * 3] = 128 + 100 * Math.sin(x / (11 + (i % 7)) + y / 17);
    data[p * 3 + 1] = (y * 5 + x + i) & 255;
    data[p * 3 + 2] = ((x ^ y) + i * 13) & 255;
  }
  const name = `COCO_val2014_${String(i + 1).padStart(12, '0')}.jpg`;
  writeFileSync(join(root, 'val2014', name), await sharp(data, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
  images.push({ id: i + 1, file_name: name, width: w, height: h });
  for (let k = 0; k < 5; k++) annotations.push({ id: i * 5 + k + 1, image_id: i + 1, caption: `a photo number ${i}, caption ${k}` });
}
writeFileSync(join(root, 'annotations', 'captions_val2014.json'), JSON.stringify({ images, annotations }));

const PEER = String.raw`
import glob, os, sys
from PIL import Image
src, out, side = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
for f in sorted(glob.glob(os.path.join(src, '*.jpg'))):
    im = Image.open(f).convert('RGB'); w, h = im.size; s = min(w, h)
    top, left = int(round((h - s) / 2.0)), int(round((w - s) / 2.0))
    im.crop((left, top, left + s, top + s)).resize((side, side), Image.LANCZOS).save(os.path.join(out, os.path.basename(f)[:-4] + '.png'))
`;
writeFileSync(join(root, 'peer.py'), PEER);

interface Timing {
  wall: number;
  cpu: number;
  rssMb: number;
}

function timed(argv: string[]): Timing {
  const r = spawnSync(time, ['-f', 'TIME %e %U %S %M', ...argv], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const m = /TIME (\S+) (\S+) (\S+) (\S+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${argv.join(' ')} failed: ${r.stderr.slice(-500)}`);
  return { wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), rssMb: Number(m[4]) / 1024 };
}

const resize = `center-crop-lanczos-${side}`;
const ours: Timing[] = [];
const peer: Timing[] = [];
for (let r = 0; r < reps; r++) {
  rmSync(join(root, 'out'), { recursive: true, force: true });
  rmSync(join(root, 'peer'), { recursive: true, force: true });
  ours.push(timed([process.execPath, 'bin/vsdlab.js', 'datasets', 'prepare', 'coco2014', '--annotations', join(root, 'annotations', 'captions_val2014.json'), '--images', join(root, 'val2014'), '--out', join(root, 'out'), '--resize', resize, '--caption-count', String(count)]));
  peer.push(timed([python, join(root, 'peer.py'), join(root, 'val2014'), join(root, 'peer'), String(side)]));
}

const pixels = async (dir: string): Promise<string[]> =>
  Promise.all(readdirSync(dir).sort().map(async (f) => sha256((await sharp(join(dir, f)).removeAlpha().toColourspace('srgb').raw().toBuffer()))));
const [a, b] = await Promise.all([pixels(join(root, 'out', 'references', resize)), pixels(join(root, 'peer'))]);
const same = a.length === b.length && a.every((h, i) => h === b[i]);

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const row = (name: string, t: Timing[]) => {
  const wall = median(t.map((x) => x.wall));
  return { name, wall, cpu: median(t.map((x) => x.cpu)), rss: Math.max(...t.map((x) => x.rssMb)), perSecond: count / wall };
};
const o = row('vsdlab datasets prepare', ours);
const p = row('Pillow (SBv2 tools/resize.py steps, 1 process)', peer);
console.log(`${count} COCO-sized JPEGs -> ${resize} PNGs, median of ${reps} reps, alternating`);
console.log('| side | wall (s) | images/s | CPU (s) | peak RSS (MB) |');
console.log('|---|---|---|---|---|');
for (const x of [o, p]) console.log(`| ${x.name} | ${x.wall.toFixed(2)} | ${x.perSecond.toFixed(1)} | ${x.cpu.toFixed(2)} | ${x.rss.toFixed(0)} |`);
console.log(`ours / peer: wall ${(o.wall / p.wall).toFixed(2)}, CPU ${(o.cpu / p.cpu).toFixed(2)}; same pixels in all ${a.length} images: ${same}`);
if (!same) process.exit(1);
