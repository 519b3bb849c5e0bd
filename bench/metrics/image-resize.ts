// time of our image preprocessing next to the Python reference doing the same work on the same images, side
// by side in one run (Pillow 9.4 / torch 1.13 in Debian's /usr/bin/python3, one thread each side). CPU time
// of each process, not wall time, so other jobs on a shared machine disturb the ratio less.
// run: npm run build && node dist/bench/metrics/image-resize.js [--images 64] [--size 256] [--reps 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preprocess, type PreprocessModeName, type RgbImage } from '../../src/metrics/image/index.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = arg('images', 64);
const side = arg('size', 256);

// deterministic photo-like content: smooth waves plus noise (an LCG, so both sides see the same bytes)
function makeImages(n: number, s: number): RgbImage[] {
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  return Array.from({ length: n }, (_, k) => {
    const data = new Uint8Array(s * s * 3);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        for (let c = 0; c < 3; c++) {
          const v = 128 + 90 * Math.sin((x + 7 * k) / (9 + c) + y / (13 + 2 * c)) + 40 * (rand() - 0.5);
          data[(y * s + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    return { width: s, height: s, data };
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function runOurs(mode: PreprocessModeName, images: RgbImage[]): { seconds: number; first: Float32Array } {
  const t0 = process.cpuUsage();
  let first: Float32Array = new Float32Array(0);
  for (const img of images) {
    const out = preprocess(mode, img);
    if (img === images[0]) first = out.data;
  }
  const used = process.cpuUsage(t0);
  return { seconds: (used.user + used.system) / 1e6, first };
}

// the reference steps (clean-fid resize.py, torchvision/open_clip on PIL, pytorch-fid) in plain pillow/numpy/torch
const PYTHON = String.raw`
import json, sys, time
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
torch.set_num_threads(1)
path, n, s, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
imgs = np.fromfile(path, dtype=np.uint8).reshape(n, s, s, 3)
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32); STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
def clean(a):
    ch = [np.asarray(Image.fromarray(a[:, :, c].astype(np.float32), mode='F').resize((299, 299), resample=Image.BICUBIC)).clip(0, 255) for c in range(3)]
    return (np.stack(ch, 0).astype(np.float32) - 128) / 128
def clip(a):
    h, w = a.shape[:2]; nw, nh = (224, int(224 * h / w)) if w <= h else (int(224 * w / h), 224)
    r = np.asarray(Image.fromarray(a, 'RGB').resize((nw, nh), resample=Image.BICUBIC))
    t, l = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0)); r = r[t:t + 224, l:l + 224]
    return ((r.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1)
def legacy_pytorch(a):
    x = torch.from_numpy(a.transpose(2, 0, 1).copy()).float().div(255)[None]
    return (2 * F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False) - 1)[0].numpy()
res = {}
for name, fn in (('clean', clean), ('clip', clip), ('legacy-pytorch', legacy_pytorch)):
    fn(imgs[0])
    t0 = time.process_time()
    for a in imgs: fn(a)
    res[name] = time.process_time() - t0
    np.ascontiguousarray(fn(imgs[0]), dtype='<f4').tofile(out_dir + '/' + name + '.f32')
print(json.dumps(res))
`;

function main(): void {
  const images = makeImages(count, side);
  const dir = mkdtempSync(join(tmpdir(), 'vsdlab-bench-image-'));
  try {
    const raw = join(dir, 'images.u8');
    writeFileSync(raw, Buffer.concat(images.map((i) => Buffer.from(i.data))));
    // alternate the two sides rep by rep so load on a shared machine hits both alike; medians of the reps
    const reps = arg('reps', 5);
    const modes = ['clean', 'clip', 'legacy-pytorch'] as const;
    const peers: Record<(typeof modes)[number], string> = {
      clean: 'Pillow F bicubic',
      clip: 'Pillow uint8 bicubic',
      'legacy-pytorch': 'torch F.interpolate',
    };
    const ours: Record<string, number[]> = {};
    const theirs: Record<string, number[]> = {};
    const firsts: Record<string, Float32Array> = {};
    for (const mode of modes) runOurs(mode, images.slice(0, 2)); // warm-up (jit)
    for (let r = 0; r < reps; r++) {
      const py = spawnSync('/usr/bin/python3', ['-c', PYTHON, raw, String(count), String(side), dir], { encoding: 'utf8' });
      if (py.status !== 0) throw new Error(`python reference failed: ${py.stderr}`);
      const t = JSON.parse(py.stdout.trim().split('\n').pop()!) as Record<string, number>;
      for (const mode of modes) {
        (theirs[mode] ??= []).push(t[mode]!);
        const o = runOurs(mode, images);
        (ours[mode] ??= []).push(o.seconds);
        firsts[mode] = o.first;
      }
    }
    console.log(`image preprocessing, ${count} images ${side}x${side} RGB, one thread each side, process CPU seconds, median of ${reps} alternating reps`);
    console.log('mode              | ours (s) | python (s) | ours/python | max |ours − python| (first image) | peer');
    for (const mode of modes) {
      const ref = new Float32Array(readFileSync(join(dir, `${mode}.f32`)).buffer.slice(0));
      const first = firsts[mode]!;
      let diff = ref.length === first.length ? 0 : Infinity;
      for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(ref[i]! - first[i]!));
      const a = median(ours[mode]!);
      const b = median(theirs[mode]!);
      console.log(
        `${mode.padEnd(17)} | ${a.toFixed(3).padStart(8)} | ${b.toFixed(3).padStart(10)} | ${(a / b).toFixed(2).padStart(11)} | ${diff.toExponential(1).padStart(29)} | ${peers[mode]}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
