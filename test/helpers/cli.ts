import { spawnSync } from 'node:child_process';
import { fromRoot } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `vsdlab` binary, as a user would, in `cwd`. */
export function vsdlab(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [fromRoot('bin/vsdlab.js'), ...args], {
    cwd: options.cwd ?? fromRoot(),
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...options.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
