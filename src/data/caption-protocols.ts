/**
 * Caption protocols: named, pure rules that choose the prompts an evaluation generates from.
 *
 * - `first-caption-per-image`: images sorted by id ascending (those with at least one caption), each with its
 *   first caption in annotation-file order; optionally only the first `n`.
 * - `gigagan-random-30k`: the GigaGAN/DMD/DMD2 random 30K. GigaGAN draws `txt[random.randint(0, 4)]` with no fixed
 *   seed, so no RNG can reproduce it; the protocol is the published list (DMD2 `captions_coco14_test.txt`,
 *   30,000 lines), taken whole and in order (first `n`, default 30,000; fewer lines is an error).
 * - `sbv2-first-30k`: SwiftBrush v2's "first 30k prompts": the first `n` (default 30,000) entries of its
 *   `dataset.json`, in order.
 * - `random-n`: our own seeded draw for the embedded study: candidates = images with a caption, by id ascending;
 *   rng = Xoshiro128ss.fromSeed(seed); for i = 0..n−1: j = i + rng.nextInt(m − i), swap candidates i and j (partial
 *   Fisher–Yates), then that image's caption number rng.nextInt(k) of its k captions sorted by annotation id.
 *   Output in draw order, so with the same seed random-n(k) is a prefix of random-n(n) for k < n.
 *
 * List protocols map each caption back to a COCO image when a captions file is given: SBv2 entry i is first
 * tried against the i-th image of the file (dataset.json follows captions_val2014.json's image order); otherwise
 * by text, compared lowercased with whitespace runs collapsed and ends trimmed. A caption found on several images
 * and not placed by position gets imageId null (and counts as ambiguous), as does one found nowhere (unmatched).
 * The caption text returned is always the list's own, byte for byte.
 *
 * Fingerprint: sha256 (hex) of the UTF-8 text made of one line per entry, `JSON.stringify([imageId, fileName,
 * caption])` + "\n", in order. `textFingerprint` hashes only the captions (`JSON.stringify(caption)` + "\n" per entry),
 * so the prompt set can be compared whether or not a COCO file placed it on images.
 */
import { BadInputError } from '../errors.js';
import { KNOWN_CAPTION_LISTS, type CaptionList } from './caption-list.js';
import type { CocoCaptionAnnotation, CocoCaptions } from './coco-format.js';
import { Xoshiro128ss, type Seed } from './random.js';
import { sha256Parts } from '../util/hash.js';

export const CAPTION_PROTOCOLS = ['first-caption-per-image', 'gigagan-random-30k', 'sbv2-first-30k', 'random-n'] as const;
export type CaptionProtocol = (typeof CAPTION_PROTOCOLS)[number];

export interface SelectedCaption {
  imageId: number | null;
  fileName: string | null;
  caption: string;
}

export interface CaptionSelection {
  protocol: CaptionProtocol;
  captions: SelectedCaption[];
  fingerprint: string;
  textFingerprint: string;
  /** what the selection was drawn from, for provenance */
  sources: { coco?: { source: string; sha256?: string }; list?: { source: string; sha256: string; known: string | null } };
  /** list protocols with a COCO file: how captions were placed on images */
  matching?: { byPosition: number; byText: number; ambiguous: number; unmatched: number };
  warnings: string[];
}

export interface SelectOptions {
  /** how many captions; required for random-n, defaults to 30,000 for the list protocols, all for first-caption */
  n?: number;
  /** random-n only */
  seed?: Seed;
  /** list protocols: the published list (see readCaptionList) */
  list?: CaptionList;
}

export function captionTextFingerprint(captions: readonly SelectedCaption[]): string {
  return sha256Parts(captions.map((c) => `${JSON.stringify(c.caption)}\n`));
}

export function captionFingerprint(captions: readonly SelectedCaption[]): string {
  return sha256Parts(captions.map((c) => `${JSON.stringify([c.imageId, c.fileName, c.caption])}\n`));
}

const normalise = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();

function checkCount(n: number | undefined, what: string): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new BadInputError('PROTOCOL_INVALID', `${what}: n must be a non-negative integer, got ${n}`);
}

function byId(coco: CocoCaptions): number[] {
  return coco.images
    .map((img) => img.id)
    .filter((id) => (coco.captionsByImage.get(id)?.length ?? 0) > 0)
    .sort((a, b) => a - b);
}

function entry(coco: CocoCaptions, ann: CocoCaptionAnnotation): SelectedCaption {
  return { imageId: ann.image_id, fileName: coco.imageById.get(ann.image_id)?.file_name ?? null, caption: ann.caption };
}

function firstCaptionPerImage(coco: CocoCaptions, n: number | undefined): SelectedCaption[] {
  const ids = byId(coco);
  if (n !== undefined && n > ids.length) {
    throw new BadInputError('PROTOCOL_INVALID', `first-caption-per-image: asked for ${n} captions, ${coco.source} has ${ids.length} captioned images`);
  }
  return ids.slice(0, n ?? ids.length).map((id) => entry(coco, (coco.captionsByImage.get(id) as CocoCaptionAnnotation[])[0] as CocoCaptionAnnotation));
}

function randomN(coco: CocoCaptions, n: number | undefined, seed: Seed | undefined): SelectedCaption[] {
  if (n === undefined || seed === undefined) throw new BadInputError('PROTOCOL_INVALID', 'random-n needs both n and seed');
  const ids = byId(coco);
  if (n > ids.length) throw new BadInputError('PROTOCOL_INVALID', `random-n: asked for ${n} captions, ${coco.source} has ${ids.length} captioned images`);
  const rng = Xoshiro128ss.fromSeed(seed);
  const out: SelectedCaption[] = [];
  for (let i = 0; i < n; i++) {
    const j = i + rng.nextInt(ids.length - i);
    const chosen = ids[j] as number;
    ids[j] = ids[i] as number;
    ids[i] = chosen;
    const anns = [...(coco.captionsByImage.get(chosen) as CocoCaptionAnnotation[])].sort((a, b) => a.id - b.id);
    out.push(entry(coco, anns[rng.nextInt(anns.length)] as CocoCaptionAnnotation));
  }
  return out;
}

function fromList(
  protocol: 'gigagan-random-30k' | 'sbv2-first-30k',
  coco: CocoCaptions | null,
  list: CaptionList | undefined,
  n: number,
  warnings: string[],
): { captions: SelectedCaption[]; matching?: CaptionSelection['matching'] } {
  if (list === undefined) {
    const hint =
      protocol === 'gigagan-random-30k'
        ? 'pass the DMD2/GigaGAN list captions_coco14_test.txt (30,000 lines)'
        : 'pass SwiftBrush v2 dataset.json';
    throw new BadInputError('PROTOCOL_INVALID', `${protocol}: needs the published caption list; no RNG reproduces it`, hint);
  }
  const expected = protocol === 'gigagan-random-30k' ? 'lines' : 'sbv2-json';
  if (list.format !== expected) warnings.push(`${protocol}: ${list.source} is a ${list.format} list; the published one is ${expected}`);
  if (list.captions.length < n) {
    throw new BadInputError('PROTOCOL_INVALID', `${protocol}: ${list.source} has ${list.captions.length} captions, the protocol takes ${n}`);
  }
  const texts = list.captions.slice(0, n);
  if (coco === null) return { captions: texts.map((caption) => ({ imageId: null, fileName: null, caption })) };

  const byText = new Map<string, Set<number>>();
  for (const ann of coco.annotations) {
    const key = normalise(ann.caption);
    const set = byText.get(key) ?? new Set<number>();
    set.add(ann.image_id);
    byText.set(key, set);
  }
  const matching = { byPosition: 0, byText: 0, ambiguous: 0, unmatched: 0 };
  const captions = texts.map((caption, i): SelectedCaption => {
    const key = normalise(caption);
    if (protocol === 'sbv2-first-30k') {
      const img = coco.images[i];
      if (img !== undefined && (coco.captionsByImage.get(img.id) ?? []).some((a) => normalise(a.caption) === key)) {
        matching.byPosition++;
        return { imageId: img.id, fileName: img.file_name, caption };
      }
    }
    const ids = byText.get(key);
    if (ids === undefined) {
      matching.unmatched++;
      return { imageId: null, fileName: null, caption };
    }
    if (ids.size > 1) {
      matching.ambiguous++;
      return { imageId: null, fileName: null, caption };
    }
    const id = ids.values().next().value as number;
    matching.byText++;
    return { imageId: id, fileName: coco.imageById.get(id)?.file_name ?? null, caption };
  });
  if (matching.unmatched > 0) warnings.push(`${protocol}: ${matching.unmatched} of ${n} captions are not in ${coco.source}`);
  return { captions, matching };
}

/** applies a named caption protocol; pure (hashing only) */
export function selectCaptions(protocol: CaptionProtocol, coco: CocoCaptions | null, opts: SelectOptions = {}): CaptionSelection {
  checkCount(opts.n, protocol);
  const warnings: string[] = [];
  const sources: CaptionSelection['sources'] = {};
  if (coco !== null) sources.coco = coco.sha256 !== undefined ? { source: coco.source, sha256: coco.sha256 } : { source: coco.source };
  if (opts.list !== undefined && (protocol === 'gigagan-random-30k' || protocol === 'sbv2-first-30k')) {
    const known = Object.entries(KNOWN_CAPTION_LISTS).find(([, k]) => k.sha256 === opts.list?.sha256)?.[0] ?? null;
    sources.list = { source: opts.list.source, sha256: opts.list.sha256, known };
    if (known === null) warnings.push(`${protocol}: ${opts.list.source} is not byte-identical to the published list`);
  }
  let captions: SelectedCaption[];
  let matching: CaptionSelection['matching'];
  switch (protocol) {
    case 'first-caption-per-image':
    case 'random-n': {
      if (coco === null) throw new BadInputError('PROTOCOL_INVALID', `${protocol}: needs a COCO captions file`);
      captions = protocol === 'random-n' ? randomN(coco, opts.n, opts.seed) : firstCaptionPerImage(coco, opts.n);
      break;
    }
    case 'gigagan-random-30k':
    case 'sbv2-first-30k': {
      const r = fromList(protocol, coco, opts.list, opts.n ?? 30000, warnings);
      captions = r.captions;
      matching = r.matching;
      break;
    }
    default:
      throw new BadInputError('PROTOCOL_INVALID', `unknown caption protocol "${String(protocol)}"`, `one of ${CAPTION_PROTOCOLS.join(', ')}`);
  }
  const out: CaptionSelection = {
    protocol,
    captions,
    fingerprint: captionFingerprint(captions),
    textFingerprint: captionTextFingerprint(captions),
    sources,
    warnings,
  };
  if (matching !== undefined) out.matching = matching;
  return out;
}
