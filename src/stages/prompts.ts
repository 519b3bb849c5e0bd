import { readFile } from 'node:fs/promises';
import { loadCocoCaptions } from '../data/coco-load.js';
import { BadInputError } from '../errors.js';

/** Every caption of a COCO captions JSON (annotation order), or every non-empty line of a .txt. */
export async function loadPrompts(path: string): Promise<string[]> {
  if (path.endsWith('.txt')) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new BadInputError('PROMPTS_UNREADABLE', `${path}: cannot read prompts (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) throw new BadInputError('PROMPTS_EMPTY', `${path}: no prompts`);
    return lines;
  }
  const coco = await loadCocoCaptions(path);
  return coco.annotations.map((a) => a.caption);
}
