/**
 * The caption subsets of every named protocol (src/data/caption-protocols.ts), written as files: a list protocol
 * whose published list is not at hand is skipped with the reason, never guessed (no RNG reproduces those lists).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BadInputError } from '../errors.js';
import { readCaptionList, selectCaptions, CAPTION_PROTOCOLS, type CaptionProtocol, type CaptionSelection, type CocoCaptions, type SelectOptions } from '../data/index.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { sha256 } from '../util/hash.js';

export type ListProtocol = 'gigagan-random-30k' | 'sbv2-first-30k';

/** the file name each list protocol is published under, looked for beside the annotations when no --list names it */
export const PUBLISHED_LIST_FILES: Record<ListProtocol, string> = {
  'gigagan-random-30k': 'captions_coco14_test.txt',
  'sbv2-first-30k': 'dataset.json',
};

const isListProtocol = (p: string): p is ListProtocol => p in PUBLISHED_LIST_FILES;

export interface CaptionSubsetOptions {
  /** explicit list files (--list NAME=PATH) */
  lists: Partial<Record<ListProtocol, string>>;
  /** captions per subset for the list protocols and random-n (default 30,000) */
  count?: number;
  /** random-n's draw seed */
  seed: number;
}

export type CaptionSubsetRecord =
  | {
      protocol: CaptionProtocol;
      file: string;
      sha256: string;
      count: number;
      fingerprint: string;
      text_fingerprint: string;
      /** one caption per line; absent when a caption holds a line break, as then a line is not a caption */
      txt: { file: string; sha256: string } | null;
      seed?: number;
      list?: CaptionSelection['sources']['list'];
      matching?: CaptionSelection['matching'];
      warnings: string[];
    }
  | { protocol: CaptionProtocol; skipped: string };

/** "sbv2-first-30k=path/dataset.json" → [protocol, path] */
export function parseListOption(text: string): [ListProtocol, string] {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq) : '';
  if (!isListProtocol(name) || eq === text.length - 1) {
    throw new BadInputError('LIST_OPTION_INVALID', `--list ${text}: expected NAME=PATH with NAME one of ${Object.keys(PUBLISHED_LIST_FILES).join(', ')}`);
  }
  return [name, text.slice(eq + 1)];
}

const DEFAULT_COUNT = 30000;

async function select(protocol: CaptionProtocol, coco: CocoCaptions, o: CaptionSubsetOptions, warnings: string[]): Promise<CaptionSelection | string> {
  const captioned = coco.images.filter((i) => (coco.captionsByImage.get(i.id)?.length ?? 0) > 0).length;
  if (protocol === 'first-caption-per-image') return selectCaptions(protocol, coco);
  const wanted = o.count ?? DEFAULT_COUNT;
  if (protocol === 'random-n') {
    const n = Math.min(wanted, captioned);
    if (n < wanted) warnings.push(`random-n: ${wanted} captions asked for, ${coco.source} has ${captioned} captioned images; drew ${n}`);
    const opts: SelectOptions = { n, seed: o.seed };
    return selectCaptions(protocol, coco, opts);
  }
  if (!isListProtocol(protocol)) throw new Error(`unhandled caption protocol ${protocol}`);
  const path = o.lists[protocol] ?? join(dirname(coco.source), PUBLISHED_LIST_FILES[protocol]);
  if (o.lists[protocol] === undefined && !existsSync(path)) {
    return `needs its published list ${PUBLISHED_LIST_FILES[protocol]}, not found beside ${coco.source}; pass --list ${protocol}=PATH`;
  }
  const list = await readCaptionList(path);
  if (list.captions.length < wanted) return `${path} has ${list.captions.length} captions, the protocol takes ${wanted} (set --caption-count to take fewer)`;
  return selectCaptions(protocol, coco, { n: wanted, list });
}

/** writes captions/<protocol>.json (and .txt) for every protocol; returns what the manifest records of each */
export async function writeCaptionSubsets(coco: CocoCaptions, outDir: string, o: CaptionSubsetOptions): Promise<CaptionSubsetRecord[]> {
  const records: CaptionSubsetRecord[] = [];
  for (const protocol of CAPTION_PROTOCOLS) {
    const warnings: string[] = [];
    const selection = await select(protocol, coco, o, warnings);
    if (typeof selection === 'string') {
      records.push({ protocol, skipped: selection });
      continue;
    }
    const captions = selection.captions.map((c) => ({ image_id: c.imageId, file_name: c.fileName, caption: c.caption }));
    const body = {
      protocol,
      count: captions.length,
      fingerprint: selection.fingerprint,
      text_fingerprint: selection.textFingerprint,
      ...(protocol === 'random-n' ? { seed: o.seed } : {}),
      sources: selection.sources,
      captions,
    };
    const json = `${JSON.stringify(body, null, 1)}\n`;
    const file = `captions/${protocol}.json`;
    await writeFileAtomically(join(outDir, file), json);
    let txt: { file: string; sha256: string } | null = null;
    if (captions.every((c) => !/[\r\n]/.test(c.caption))) {
      const text = captions.map((c) => `${c.caption}\n`).join('');
      txt = { file: `captions/${protocol}.txt`, sha256: sha256(text) };
      await writeFileAtomically(join(outDir, txt.file), text);
    } else warnings.push(`${protocol}: a caption holds a line break, so no .txt list is written (the .json has every caption)`);
    records.push({
      protocol,
      file,
      sha256: sha256(json),
      count: captions.length,
      fingerprint: selection.fingerprint,
      text_fingerprint: selection.textFingerprint,
      txt,
      ...(protocol === 'random-n' ? { seed: o.seed } : {}),
      ...(selection.sources.list ? { list: selection.sources.list } : {}),
      ...(selection.matching ? { matching: selection.matching } : {}),
      warnings: [...warnings, ...selection.warnings],
    });
  }
  return records;
}
