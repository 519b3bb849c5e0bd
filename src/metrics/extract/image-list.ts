// which files of a folder are the image set, listed as the reference implementation of each mode lists them.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { BadInputError } from '../../errors.js';

/**
 * 'pytorch-fid': sorted(path.glob('*.{ext}')) over bmp jpg jpeg pgm png ppm tif tiff webp (lower-case, not recursive,
 * dot-files included as pathlib includes them).
 * 'clean-fid': sorted(glob('**' + '/*.{ext}', recursive=True)) over the same plus JPEG JPG PNG (case-sensitive);
 * clean-fid's .npy arrays are not images here and are left out.
 */
export type ListingRule = 'pytorch-fid' | 'clean-fid';

const PYTORCH_FID_EXTENSIONS = new Set(['bmp', 'jpg', 'jpeg', 'pgm', 'png', 'ppm', 'tif', 'tiff', 'webp']);
const CLEAN_FID_EXTENSIONS = new Set([...PYTORCH_FID_EXTENSIONS, 'JPEG', 'JPG', 'PNG']);

// python sorts str by code point; js's default sort compares utf-16 units, which differs only past the bmp
const byCodePoint = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

export function listImages(folder: string, rule: ListingRule): string[] {
  let top: string[];
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
    top = readdirSync(folder);
  } catch (err) {
    throw new BadInputError('IMAGE_FOLDER_UNREADABLE', `cannot list image folder ${folder}: ${(err as Error).message}`);
  }
  const files: string[] = [];
  const extensions = rule === 'pytorch-fid' ? PYTORCH_FID_EXTENSIONS : CLEAN_FID_EXTENSIONS;
  const visit = (dir: string, names: string[]): void => {
    for (const name of names) {
      const path = join(dir, name);
      let isDir = false;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue; // a dangling link: glob skips it too
      }
      if (isDir) {
        if (rule === 'clean-fid' && !name.startsWith('.')) visit(path, readdirSync(path));
      } else if ((rule === 'pytorch-fid' || !name.startsWith('.')) && extensions.has(extname(name).slice(1))) {
        // pathlib's glob (pytorch-fid) matches dot-files; the glob module (clean-fid) does not
        files.push(path);
      }
    }
  };
  visit(folder, top);
  return files.sort(byCodePoint);
}
