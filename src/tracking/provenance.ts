import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

/** The vsdlab package root (dist/src/tracking → three levels up). */
export const packageRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

export interface Provenance {
  vsdlab: string;
  git: { commit: string | null; dirty: boolean | null; branch: string | null };
  node: string;
  packages: Record<string, string>;
  host: { name: string; platform: string; release: string; cpus: number; cpu: string; memory_gb: number };
  command: string[];
  cwd: string;
}

export function collectProvenance(argv: readonly string[] = process.argv): Provenance {
  const pkg = readPackage(packageRoot);
  const deps = Object.keys({ ...(pkg.dependencies ?? {}), ...(pkg.optionalDependencies ?? {}) });
  const packages: Record<string, string> = {};
  for (const name of [...deps, '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    const file = join(packageRoot, 'node_modules', name, 'package.json');
    if (existsSync(file)) packages[name] = readPackage(join(packageRoot, 'node_modules', name)).version ?? 'unknown';
  }
  return {
    vsdlab: pkg.version ?? 'unknown',
    git: gitInfo(packageRoot),
    node: process.version,
    packages,
    host: {
      name: hostname(),
      platform: platform(),
      release: release(),
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
    command: [...argv],
    cwd: process.cwd(),
  };
}

interface PackageJson {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

function gitInfo(dir: string): Provenance['git'] {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git('rev-parse', 'HEAD');
  const status = commit === null ? null : git('status', '--porcelain', '--untracked-files=no');
  return { commit, dirty: status === null ? null : status.length > 0, branch: git('rev-parse', '--abbrev-ref', 'HEAD') };
}
