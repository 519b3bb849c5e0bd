import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * The workspace of an experiment: the project you run vsdlab in and the project holding the experiment file, each
 * the nearest folder at or above (the working directory; the file's folder) with `.git` or `package.json`, or
 * that folder itself when no ancestor has one. Relative asset paths and the built-in defaults
 * (`models/embedded/...`) resolve against the working directory, so its project must count; an experiment kept
 * with its data in a study repository, run from elsewhere, must work too. What neither project holds (~/.ssh,
 * /etc, a colleague's home) is what an experiment file from elsewhere must not read, hash or run in.
 * Real paths, so a workspace reached through a symlink compares equal to the paths inside it.
 */
export function workspaceOf(experimentFile: string, cwd: string = process.cwd()): string[] {
  const roots = [projectOf(realpathSync(cwd)), projectOf(dirname(realpathSync(resolve(cwd, experimentFile))))];
  return [...new Set(roots)];
}

function projectOf(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git')) || existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/**
 * Where `path` (relative to the working directory, as assets are read) really leads: the real path of its
 * longest existing prefix (taken as written, so `link/..` is the link target's parent, as the kernel reads it)
 * plus the rest, which does not exist and so holds no symlink.
 */
export function realPathOf(path: string): string {
  const raw = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  const parts = raw.split(sep);
  for (let n = parts.length; n > 0; n--) {
    const prefix = parts.slice(0, n).join(sep) || sep;
    let real: string;
    try {
      // .native: libc realpath(3) walks `..` after a symlink as the kernel does; the JS one would cancel it first
      real = realpathSync.native(prefix);
    } catch {
      continue;
    }
    return resolve(real, ...parts.slice(n));
  }
  return resolve(raw);
}

/** `path` is `root` or below it (both real, absolute paths). */
export const isInside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};
