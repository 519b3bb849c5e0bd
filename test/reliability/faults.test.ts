// Faults of the machine, not of the input: a full disk, a folder without write access, an unreadable asset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';
import { checkStore } from './store-check.js';

const EXPERIMENT = 'test/fixtures/reliability/tiny-study.yaml';

const root = (args: string[]): { ok: boolean; why: string } => {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, why: (r.stderr || r.error?.message || '').trim() };
};

test('a full disk during training: the cell fails with DISK_FULL naming the file, nothing torn is left, and the re-run completes once space is back', async (t) => {
  const dir = tempDir();
  const store = join(dir, 'store');
  mkdirSync(store);
  // 3 MiB: the run folders fit, the first distillation checkpoint (about 3 MiB) does not
  const mounted = root(['mount', '-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', store]);
  if (!mounted.ok) return t.skip(`cannot mount a small tmpfs here (${mounted.why}): run as root to test a full disk`);
  try {
    const env = { VSDLAB_FEATURE_CACHE: join(dir, 'features') };
    const full = vsdlab(['run', EXPERIMENT, '--store', join(store, 'runs'), '--reporter', 'plain'], { env });
    assert.equal(full.code, 1, `a failed cell, not a crash: ${full.stdout}\n${full.stderr}`);
    assert.doesNotMatch(full.stderr, /internal error|\n\s+at /);
    const cells = join(store, 'runs', 'tiny-study');
    const vsd = readdirSync(cells).find((n) => n.startsWith('vsd-eps-'))!;
    const status = JSON.parse(readFileSync(join(cells, vsd, 'status.json'), 'utf8')) as { state: string; error: { code: string; message: string } };
    assert.equal(status.state, 'failed');
    assert.equal(status.error.code, 'DISK_FULL');
    assert.match(status.error.message, new RegExp(`^${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/runs/\\S+: no space left on the device \\(ENOSPC\\)`));
    assert.match(`${full.stdout}${full.stderr}`, /FAILED: .*ENOSPC/, 'the reporter shows the one-line reason');
    const problems = await checkStore(join(store, 'runs'), { finished: false });
    assert.deepEqual(problems.corrupt, [], 'no torn file under a final name');
    assert.ok(!problems.leftovers.some((l) => l.endsWith('.tmp')));

    assert.ok(root(['mount', '-o', 'remount,size=64m', store]).ok, 'space comes back');
    const again = vsdlab(['run', EXPERIMENT, '--store', join(store, 'runs'), '--reporter', 'plain'], { env });
    assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
    const after = await checkStore(join(store, 'runs'), { finished: true });
    assert.deepEqual(after.corrupt, []);
  } finally {
    // lazy: a child's late close must not keep the mount (and the temp folder) busy
    root(['umount', '-l', store]);
  }
});

/** runs vsdlab as the unprivileged user `nobody` (root ignores permission bits), or says why it cannot */
function asNobody(args: string[]): { code: number; stderr: string } | string {
  if (process.getuid?.() !== 0) return 'not root: cannot switch to an unprivileged user';
  const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, fromRoot('bin/vsdlab.js'), ...args], { cwd: fromRoot(), encoding: 'utf8', env: { ...process.env, CI: '1', HOME: '/tmp' } });
  if (r.error) return `setpriv unavailable (${r.error.message})`;
  return { code: r.status ?? -1, stderr: r.stderr };
}

test('a run folder without write access: exit 2 naming the path and EACCES', (t) => {
  const dir = tempDir();
  const store = join(dir, 'store');
  mkdirSync(store);
  chmodSync(dir, 0o755);
  const r = asNobody(['run', EXPERIMENT, '--store', store]);
  if (typeof r === 'string') return t.skip(r);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^vsdlab: ${store}/tiny-study/manifest\\.json: cannot write here \\(EACCES\\)`));
});

test('an unreadable (mode 000) image: exit 2 naming the image and EACCES', (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const images = join(dir, 'images');
  mkdirSync(images, { mode: 0o755 });
  const val = fromRoot('data/synthetic-shapes/val');
  const names = readdirSync(val).filter((n) => n.endsWith('.png')).slice(0, 3);
  for (const n of names) copyFileSync(join(val, n), join(images, n));
  chmodSync(join(images, names[0]!), 0o000);
  const r = asNobody(['fid', images, val, '--inception', 'models/embedded/perception.onnx', '--dims', '128', '--no-cache']);
  if (typeof r === 'string') return t.skip(r);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`vsdlab: cannot read image ${join(images, names[0]!)}: EACCES`));
});
