// The tiny SD 2 ONNX fixture as a complete folder: tiny-sd2-onnx ships its tokenizer configs only (the 1.4 MB CLIP
// vocabulary is committed once, in tiny-sd2), so a temp copy gets vocab.json and merges.txt from there.
import { copyFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/temp.js';

export const ONNX_FIXTURE = 'test/fixtures/sd/tiny-sd2-onnx';

export function tinyOnnxFolder(): string {
  const dir = join(tempDir(), 'tiny-sd2-onnx');
  cpSync(fromRoot(ONNX_FIXTURE), dir, { recursive: true });
  for (const f of ['vocab.json', 'merges.txt']) copyFileSync(fromRoot('test/fixtures/sd/tiny-sd2/tokenizer', f), join(dir, 'tokenizer', f));
  return dir;
}
