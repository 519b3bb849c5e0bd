// Builds the optional native LAPACK addon (native/lapack -> native/lapack/build/Release/vsdlab_lapack.node)
// with node-gyp against the system OpenBLAS, or with the C compiler directly when node-gyp is not to be found.
// Never fails its caller: on any problem it prints one line and exits 0, and FID keeps its JS path.
// Usage: node scripts/build-native.js [--verbose]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'native', 'lapack');
const buildDir = join(dir, 'build');
const addon = join(buildDir, 'Release', 'vsdlab_lapack.node');
const log = join(buildDir, 'build-native.log');
const verbose = process.argv.includes('--verbose');
const transcript = [];

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: 300_000, ...options });
  transcript.push(`$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}\n`);
  if (verbose) process.stderr.write(transcript[transcript.length - 1]);
  return r;
}

function giveUp(reason) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(log, transcript.join('\n'));
  } catch {
    // the one line below is what matters
  }
  console.log(`native LAPACK not built (${reason}); FID uses the JS path`);
  process.exit(0);
}

// node's headers without a download: <prefix>/include/node of this node (Debian: /usr)
function nodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
    join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => typeof p === 'string' && p.length > 0 && existsSync(p)) ?? null;
}

// loads the result in a fresh process and runs every LAPACK routine it uses (full-rank and pivoted paths):
// a missing symbol would otherwise only show, as a crash, at the first FID
function verify() {
  const script = `
    const m = require(${JSON.stringify(addon)});
    const full = m.choleskyProductEigenvalues(Float64Array.of(4, 2, 2, 3), Float64Array.of(1, 0, 0, 1), 2, 0);
    const singular = m.choleskyProductEigenvalues(Float64Array.of(1, 1, 1, 1), Float64Array.of(2, 0, 0, 1), 2, 0);
    const ok = Math.abs(full.eigenvalues[0] - (7 - Math.sqrt(17)) / 2) < 1e-14 && singular.pivoted && Math.abs(singular.eigenvalues[0] - 3) < 1e-14;
    if (!ok) throw new Error('wrong eigenvalues: ' + JSON.stringify([...full.eigenvalues, ...singular.eigenvalues]));
    console.log(m.info().openblas);`;
  const r = run(process.execPath, ['-e', script]);
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ''}`.split('\n').filter((l) => /error|undefined symbol|cannot open/i.test(l));
    return { ok: false, reason: `built but does not work: ${(lines[0] ?? `exit ${r.status ?? r.signal}`).trim()}` };
  }
  return { ok: true, config: r.stdout.trim() };
}

function main() {
  const include = nodeDir();
  const gyp = nodeGyp();
  let built = false;
  let reason = '';
  if (gyp !== null) {
    const args = [gyp, 'rebuild', ...(include === null ? [] : [`--nodedir=${include}`])];
    const r = run(process.execPath, args);
    built = r.status === 0 && existsSync(addon);
    if (!built) reason = `node-gyp failed, see ${log.slice(root.length + 1)}`;
  }
  if (!built && include !== null) {
    // the compiler directly: the same flags as binding.gyp
    rmSync(buildDir, { recursive: true, force: true });
    mkdirSync(dirname(addon), { recursive: true });
    const cc = process.env.CC ?? 'cc';
    const r = run(cc, ['-O2', '-std=c11', '-fPIC', '-shared', '-ffp-contract=off', `-I${join(include, 'include', 'node')}`, 'lapack.c', '-o', addon, '-lopenblas']);
    built = r.status === 0 && existsSync(addon);
    if (!built) {
      const missing = /openblas/i.test(`${r.stderr ?? ''}`) ? 'libopenblas not found (Debian: libopenblas-dev)' : r.error ? `${cc} not found` : `${cc} failed`;
      reason = gyp === null ? `no node-gyp; ${missing}, see ${log.slice(root.length + 1)}` : `${reason}; ${missing}`;
    }
  } else if (!built) {
    reason = gyp === null ? 'neither node-gyp nor node headers found' : reason;
  }
  if (!built) {
    rmSync(addon, { force: true });
    giveUp(reason);
  }
  const v = verify();
  if (!v.ok) {
    rmSync(addon, { force: true });
    giveUp(v.reason);
  }
  console.log(`native LAPACK built: ${addon.slice(root.length + 1)} (${v.config}); FID uses it`);
}

try {
  main();
} catch (e) {
  giveUp(e instanceof Error ? e.message.split('\n')[0] : String(e));
}
