/**
 * A student's complete pipeline folder (the cell's `model/`): the teacher's folder with its UNet replaced, which
 * `DiffusionPipeline.from_pretrained` loads as the teacher's pipeline class. Everything of the teacher but `unet/`
 * is hard-linked (the VAE and text encoder are gigabytes and never change; a copy where links cannot be made, e.g.
 * across file systems), the new `unet/` is written, and `model_index.json` is the teacher's with the unet entry
 * set to diffusers' UNet2DConditionModel. The folder is built beside its final name and renamed into place, so a
 * reader sees the old folder or the whole new one.
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { publishDir } from '../../util/atomic-write.js';
import type { ParamMap } from '../../nn/params.js';
import { readJsonObject } from './config-file.js';
import { openComponentWeights, readPipelineFolder, type PipelineFolder } from './pipeline-folder.js';
import { torchNameOf, torchShapeOf } from '../../nn/torch-layout.js';
import { pythonJson } from './python-json.js';
import type { UNetConfig } from './unet-config.js';
import { writeUNetFiles } from './write-unet-folder.js';

export interface WrittenPipeline {
  dir: string;
  /** files hard-linked from the teacher, and files copied because a link could not be made */
  linked: number;
  copied: number;
}

// link failures that mean "not here": another device, a file system without hard links, a read-only source owner
const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES']);

function linkOrCopyTree(from: string, to: string, counts: { linked: number; copied: number }): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).sort()) {
    const src = join(from, name);
    const dst = join(to, name);
    // statSync follows links: a teacher folder from the Hugging Face cache is symlinks into blobs/
    if (statSync(src).isDirectory()) {
      linkOrCopyTree(src, dst, counts);
      continue;
    }
    try {
      linkSync(src, dst);
      counts.linked += 1;
    } catch (e) {
      if (!LINK_REFUSED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      copyFileSync(src, dst);
      counts.copied += 1;
    }
  }
}

/**
 * The student is a full copy of the teacher's UNet: its state dict must have exactly the teacher's tensor names and
 * shapes (read from the teacher's safetensors header, no weights), or diffusers would refuse the folder. A mismatch
 * is a bug in whoever built the ParamMap, named here rather than found by diffusers later.
 */
function checkAgainstTeacher(teacher: PipelineFolder, params: ParamMap): void {
  const view = openComponentWeights(teacher.unet);
  try {
    const ours = new Map(Object.entries(params).map(([name, v]) => [torchNameOf(name), torchShapeOf(name, v.shape)]));
    const theirs = view.names();
    const missing = theirs.filter((n) => !ours.has(n));
    const extra = [...ours.keys()].filter((n) => view.info(n) === undefined);
    const reshaped = theirs.filter((n) => ours.has(n) && JSON.stringify(ours.get(n)) !== JSON.stringify(view.info(n)!.shape));
    if (missing.length + extra.length + reshaped.length > 0) {
      const first = (list: string[]): string => list.slice(0, 3).join(', ') + (list.length > 3 ? `, … (${list.length})` : '');
      throw new Error(`write pipeline: the UNet parameters do not match ${teacher.unet.weights.path}: missing ${first(missing) || 'none'}; extra ${first(extra) || 'none'}; other shapes ${first(reshaped) || 'none'}`);
    }
  } finally {
    view.close();
  }
}

/**
 * Writes `dir` as the pipeline `teacherDir` with the UNet `params` (of `config`). The teacher folder is read and
 * checked first (readPipelineFolder), so a broken teacher fails before anything is written.
 */
export function writePipelineFolder(dir: string, teacherDir: string, config: UNetConfig, params: ParamMap): WrittenPipeline {
  const teacher = readPipelineFolder(teacherDir);
  checkAgainstTeacher(teacher, params);
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const counts = { linked: 0, copied: 0 };
  try {
    for (const name of readdirSync(teacher.dir).sort()) {
      if (name === 'unet' || name === 'model_index.json' || name.startsWith('.')) continue;
      const src = join(teacher.dir, name);
      if (statSync(src).isDirectory()) linkOrCopyTree(src, join(tmp, name), counts);
      else {
        copyFileSync(src, join(tmp, name));
        counts.copied += 1;
      }
    }
    mkdirSync(join(tmp, 'unet'));
    writeUNetFiles(join(tmp, 'unet'), config, params);
    const index = { ...readJsonObject(teacher.modelIndexPath, 'model_index.json'), unet: ['diffusers', 'UNet2DConditionModel'] };
    writeFileSync(join(tmp, 'model_index.json'), `${pythonJson(index)}\n`);
    publishDir(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, ...counts };
}
