/**
 * Generated images under a resize protocol before they are measured, as SwiftBrush v2 resizes its inferred folder
 * (`tools/resize.py main <infer_folder> <infer_resized_folder>`) before clean-fid and CLIP read it: each image
 * decoded as Pillow does, centre-cropped to a square, LANCZOS to the protocol's side, saved as PNG under the same
 * base name. An output already there is kept (each is written to a temporary name and renamed), so a killed
 * evaluation resumes where it stopped.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BadInputError } from '../errors.js';
import { decodeImage } from '../metrics/image/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { applyResizeProtocol, encodePng, RESIZE_PROTOCOLS, RESIZE_PROTOCOL_NAMES, type ResizeProtocolName } from './resize-protocols.js';

/** the resize protocol of a side (256 → center-crop-lanczos-256) */
export function resizeProtocolOfSide(side: number): ResizeProtocolName {
  const name = RESIZE_PROTOCOL_NAMES.find((n) => RESIZE_PROTOCOLS[n].side === side);
  if (!name) throw new BadInputError('RESIZE_PROTOCOL_UNKNOWN', `no resize protocol resizes to ${side}`, `one of ${RESIZE_PROTOCOL_NAMES.map((n) => RESIZE_PROTOCOLS[n].side).join(', ')}`);
  return name;
}

/** writes each file's resized PNG into outDir; returns the PNG paths, in the order of `files` */
export async function resizeImages(files: readonly string[], protocol: ResizeProtocolName, outDir: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    signal?.throwIfAborted();
    const target = join(outDir, `${basename(file).replace(/\.[^.]*$/, '')}.png`);
    if (seen.has(target)) throw new BadInputError('RESIZE_NAME_CLASH', `${file}: another image is also written as ${target}`);
    seen.add(target);
    out.push(target);
    if (existsSync(target)) continue;
    const img = applyResizeProtocol(await decodeImage(file), protocol);
    await writeFileAtomically(target, await encodePng(img));
  }
  return out;
}
